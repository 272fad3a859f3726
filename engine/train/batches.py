"""Training batches: random windows, scale and flip/rotate/brightness augmentation, normalised, prepared in a
background thread while the model trains on the previous batch."""

import numpy as np

from .augment import sensor_augment


def _augment(torch, x, y, rng):
    """Random flips, 90° rotations, brightness/contrast on a batch (in place order kept per batch)."""
    if rng.random() < 0.5:
        x, y = x.flip(-1), y.flip(-1)
    if rng.random() < 0.5:
        x, y = x.flip(-2), y.flip(-2)
    k = int(rng.integers(4))
    if k:
        x, y = torch.rot90(x, k, (-2, -1)), torch.rot90(y, k, (-2, -1))
    n = x.shape[0]
    contrast = torch.from_numpy(rng.uniform(0.8, 1.2, (n, 1, 1, 1)).astype(np.float32))
    bright = torch.from_numpy(rng.normal(0, 0.1, (n, 1, 1, 1)).astype(np.float32))
    return x * contrast + bright, y


def _scaled_sample(windows, tile, rng, augment):
    """One training sample; with augmentation a window of a random scale, resampled once to `tile`."""
    if not augment:
        return windows.sample(tile)
    scale = float(rng.uniform(0.75, 1.25))
    return windows.sample(max(16, int(round(tile * scale))), out=tile)


class BatchLoader:
    """Training batches (normalised, augmented CPU tensors), the next one prepared in a background thread
    while the model trains on the current one (GDAL reads and numpy release the GIL). Its own random
    generator keeps the sequence of batches reproducible for a seed."""

    def __init__(self, windows, tile, batch_size, mean, std, augment, seed, shard=(0, 1), sensor=False):
        from concurrent.futures import ThreadPoolExecutor

        self.windows, self.tile, self.batch_size = windows, tile, batch_size
        self.mean, self.std, self.augment, self.sensor, self.seed = mean, std, augment, sensor, seed
        self.rank, self.world = shard
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="buildseg-batches")
        self.next = None
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        """Restart the random streams for `epoch`: a resumed run draws what an uninterrupted one would."""
        if self.next is not None:
            self.next.cancel() or self.next.result()
        self.rng = np.random.default_rng([self.seed + 1, epoch])
        self.windows.rng = np.random.default_rng([self.seed, epoch])
        self.next = self.pool.submit(self._make)

    def _make(self):
        """This rank's slice of the global batch (every rank draws the same global batch)."""
        import torch

        n = self.batch_size * self.world
        batch = [_scaled_sample(self.windows, self.tile, self.rng, self.augment) for _ in range(n)]
        norm = [((b[0] - self.mean) / self.std).astype(np.float32) for b in batch]
        if self.sensor:
            norm = [sensor_augment(x, self.rng) for x in norm]
        x = torch.from_numpy(np.stack(norm))
        y = torch.from_numpy(np.stack([b[1] for b in batch]).astype(np.int64))
        if self.augment:
            x, y = _augment(torch, x, y, self.rng)
        part = slice(self.rank * self.batch_size, (self.rank + 1) * self.batch_size)
        return x[part].contiguous(), y[part].contiguous()

    def get(self):
        batch = self.next.result()
        self.next = self.pool.submit(self._make)
        return batch

    def idle(self):
        """Wait for the batch being prepared: GDAL datasets must not be read from two threads (validation)."""
        if self.next is not None:
            from concurrent.futures import wait

            wait([self.next])  # an error in it surfaces at the next get()

    def close(self):
        self.next.cancel()
        self.pool.shutdown(wait=True)
