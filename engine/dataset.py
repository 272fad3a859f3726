"""Training tiles sampled straight from rasters + labels, split spatially into train/val."""

from dataclasses import dataclass

import numpy as np

from .errors import BuildSegError
from .labels import IGNORE, as_target
from .raster import RasterSource


@dataclass
class Scene:
    """One raster with its labels; `val_cols` is the first tile column of its validation strip."""

    raster: str
    labels: object  # PolygonLabels or RasterLabels
    role: str = "train"  # train | val | both (split by a column strip) | area (split by a validation area)
    split_x: int = None  # pixels x >= split_x are validation when role == both
    val_labels: object = None  # labels for validation windows (role == area)

    def open(self):
        self.src = RasterSource(self.raster)
        return self


def split_scenes(scenes, val_fraction: float, tile: int, seed: int):
    """Spatially separated validation: whole scenes when there are enough, else a strip of each."""
    if val_fraction <= 0 or any(s.role in ("val", "area") for s in scenes):  # no split, or one given
        return scenes
    rng = np.random.default_rng(seed)
    n_val = int(round(len(scenes) * val_fraction))
    if len(scenes) >= 5 and n_val >= 1:
        for i in rng.permutation(len(scenes))[:n_val]:
            scenes[i].role = "val"
        return scenes
    for s in scenes:
        w = s.src.width
        strip = max(tile, int(round(w * val_fraction / tile)) * tile)
        if w - strip < tile:
            continue  # too narrow to split: all training
        s.role, s.split_x = "both", w - strip
    return scenes


def train_extent(scene: Scene):
    """(x0, x1) pixel columns training windows may use."""
    if scene.role == "both":
        return 0, scene.split_x
    return 0, scene.src.width


def val_windows(scenes, tile: int):
    """Grid windows (scene index, row, col) over validation areas."""
    from .tiling import starts

    out = []
    for i, s in enumerate(scenes):
        if s.role == "train":
            continue
        x0 = s.split_x if s.role == "both" else 0
        for r in starts(s.src.height, tile, 0):
            for c in starts(s.src.width - x0, tile, 0):
                if s.role == "area":  # windows mostly inside the validation area
                    lab = s.val_labels.read(s.src.transform, r, x0 + c, tile, tile)
                    if (lab != IGNORE).mean() < 0.25:
                        continue
                out.append((i, r, x0 + c))
    return out


def read_sample(scene: Scene, bands, row, col, size, validation: bool = False):
    """(image float32 (B, size, size), labels uint8 (size, size)) with nodata -> IGNORE."""
    img, valid = scene.src.read(bands, row, col, size, size)
    labels = scene.val_labels if validation and scene.val_labels is not None else scene.labels
    lab = labels.read(scene.src.transform, row, col, size, size)
    lab = as_target(lab) if validation else lab.copy()
    lab[~valid] = IGNORE
    return img, lab


class RandomWindows:
    """Random training windows; `positive_share` of them centred near a labelled building."""

    def __init__(self, scenes, bands, tile: int, positive_share: float = 0.5, seed: int = 0):
        self.scenes = [s for s in scenes if s.role != "val"]
        if not self.scenes:
            raise BuildSegError("No training area is left after the validation split: lower the validation "
                                "fraction or add rasters.")
        self.bands, self.tile, self.share = bands, tile, positive_share
        self.rng = np.random.default_rng(seed)
        weights = np.array([s.src.width * s.src.height for s in self.scenes], float)
        self.weights = weights / weights.sum()
        self.centres = [self._pixel_centres(s) for s in self.scenes]

    def _pixel_centres(self, s):
        c = s.labels.positive_centres()
        if c is None or len(c) == 0:
            return None
        inv = ~s.src.transform
        cols, rows = inv * (c[:, 0], c[:, 1])
        x0, x1 = train_extent(s)
        keep = (cols >= x0) & (cols < x1) & (rows >= 0) & (rows < s.src.height)
        return np.stack([rows[keep], cols[keep]], 1) if keep.any() else None

    def sample(self, size: int = None):
        size = size or self.tile
        i = self.rng.choice(len(self.scenes), p=self.weights)
        s = self.scenes[i]
        x0, x1 = train_extent(s)
        centres = self.centres[i]
        if centres is not None and self.rng.random() < self.share:
            r, c = centres[self.rng.integers(len(centres))]
            row = int(r - size / 2 + self.rng.integers(-size // 4, size // 4 + 1))
            col = int(c - size / 2 + self.rng.integers(-size // 4, size // 4 + 1))
        else:
            row = int(self.rng.integers(0, max(1, s.src.height - size + 1)))
            col = int(self.rng.integers(x0, max(x0 + 1, x1 - size + 1)))
        row = min(max(row, 0), max(0, s.src.height - size))
        col = min(max(col, x0), max(x0, x1 - size))
        return read_sample(s, self.bands, row, col, size)


def band_statistics(scenes, bands, tile: int, samples: int = 64, seed: int = 0):
    """Per-band mean and std over valid pixels of random windows of the training rasters."""
    rng = np.random.default_rng(seed)
    sums = np.zeros(len(bands))
    sq = np.zeros(len(bands))
    n = 0
    for _ in range(samples):
        s = scenes[rng.integers(len(scenes))]
        row = int(rng.integers(0, max(1, s.src.height - tile + 1)))
        col = int(rng.integers(0, max(1, s.src.width - tile + 1)))
        img, valid = s.src.read(bands, row, col, tile, tile)
        v = img[:, valid].astype(np.float64)
        sums += v.sum(1)
        sq += (v ** 2).sum(1)
        n += v.shape[1]
    if n == 0:
        raise BuildSegError("The training rasters hold no valid pixels (all nodata).")
    mean = sums / n
    std = np.sqrt(np.maximum(sq / n - mean ** 2, 1e-12))
    return mean.tolist(), np.maximum(std, 1e-6).tolist()
