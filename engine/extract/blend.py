"""Stream a per-tile function over a raster on the sliding-window grid and blend the overlaps.

Only a band of rows one tile high is held; every finished strip of rows is handed to
`on_rows` as soon as no later tile can touch it, so memory stays flat as the scene grows.
"""

from dataclasses import dataclass

import numpy as np

from ..core import windows
from ..core.errors import BuildSegError
from ..core.progress import Progress


@dataclass
class BlendStats:
    tiles: int = 0
    tiles_skipped: int = 0


FLUSH_ROWS = 128


def aoi_mask(aoi, transform, shape):
    from rasterio.features import geometry_mask

    return geometry_mask(aoi, out_shape=shape, transform=transform, invert=True, all_touched=True)


def blend_scene(src, plan, tile_fn, channels: int, on_rows, progress: Progress, aoi=None,
                region: tuple = None) -> BlendStats:
    """Run `tile_fn` ((N, bands, tile, tile) normalised -> (N, channels, tile, tile)) over `src` as `plan` says
    (its bands, normalisation, tile, overlap and batch).

    `on_rows(values, ok)` receives each finished strip: blended values (channels, rows, width) and the
    mask of pixels that are valid (not nodata, inside `aoi`, covered by a tile). All-invalid tiles are skipped.
    `region` (row0, col0, row1, col1): blend only that rectangle, from the scene's own tiles (a block of a
    scene gets the very values the whole scene gets there); a region with no valid pixel is not an error.
    """
    from rasterio.transform import Affine

    bands, tile, batch = plan.bands, plan.tile, plan.batch
    r0, c0, r1, c1 = region or (0, 0, src.height, src.width)
    rows = windows.tile_rows(src.height, src.width, tile, plan.overlap, region)
    blend = _Blend(channels, tile, c1 - c0, windows.blend_window(tile, plan.overlap), tile_fn)
    mean = np.asarray(plan.info.mean, np.float32)[:, None, None]
    std = np.asarray(plan.info.std, np.float32)[:, None, None]
    stats, total, done, buf_y = BlendStats(), sum(len(r.windows) for r in rows), 0, r0
    for row in rows:
        pending = []
        for win in row.windows:
            progress.check()
            data, ok = src.read(bands, win.y, win.x, tile, tile)
            if aoi:
                ok &= aoi_mask(aoi, src.transform * Affine.translation(win.x, win.y), ok.shape)
            # the part of the tile inside the region, and where it lands in the row buffer
            part = np.s_[max(r0, win.y) - win.y:min(r1, win.y + win.height) - win.y,
                         max(c0, win.x) - win.x:min(c1, win.x + win.width) - win.x]
            dst = np.s_[win.y + part[0].start - buf_y:win.y + part[0].stop - buf_y,
                        win.x + part[1].start - c0:win.x + part[1].stop - c0]
            blend.valid[dst] |= ok[part]
            done += 1
            if not ok.any():
                stats.tiles_skipped += 1
                continue
            pending.append((part, dst, (data - mean) / std))
            if len(pending) == batch:
                stats.tiles += blend.add(pending)
                pending = []
                progress.set_progress(100.0 * done / total)
        if pending:
            progress.check()
            stats.tiles += blend.add(pending)
            progress.set_progress(100.0 * done / total)
        buf_y += blend.flush(min(row.next_y, r1) - buf_y, on_rows)
    if not stats.tiles and region is None:
        raise BuildSegError("No tile of the raster has valid pixels: it is nodata everywhere (or the area of "
                            "interest misses its data). Check the raster's nodata value and the area of interest.")
    return stats


class _Blend:
    """The row buffer: weighted sums, weights and validity over one tile height of the output's width."""

    def __init__(self, channels: int, tile: int, width: int, window, tile_fn):
        self.acc = np.zeros((channels, tile, width), np.float32)
        self.wsum = np.zeros((tile, width), np.float32)
        self.valid = np.zeros((tile, width), bool)
        self.window, self.tile_fn = window, tile_fn

    def add(self, pending) -> int:
        """Run the model on a batch of tiles and add their weighted values; returns the tiles run."""
        out = self.tile_fn(np.stack([d for _, _, d in pending]).astype(np.float32))
        for (part, dst, _), values in zip(pending, out):
            self.acc[(slice(None),) + dst] += values[(slice(None),) + part] * self.window[part]
            self.wsum[dst] += self.window[part]
        return len(pending)

    def flush(self, n: int, on_rows) -> int:
        """Hand the first `n` rows (finished: no later tile touches them) to `on_rows` in small strips, then move
        the rest up. Returns the rows flushed (0 while the tiles still start above the region)."""
        if n <= 0:
            return 0
        acc, wsum, valid = self.acc, self.wsum, self.valid
        for r in range(0, n, FLUSH_ROWS):  # handed over in small strips: small temporaries downstream
            e = min(n, r + FLUSH_ROWS)
            on_rows(acc[:, r:e] / np.maximum(wsum[r:e], 1e-12), valid[r:e] & (wsum[r:e] > 0))
        keep = acc.shape[1] - n
        for r in range(0, keep, n):  # move the overlap rows up in chunks that cannot overlap: no copy
            e = min(keep, r + n)
            for buf in (acc, wsum, valid):
                buf[..., r:e, :] = buf[..., r + n:e + n, :]
        for buf in (acc, wsum, valid):
            buf[..., keep:, :] = 0
        return n
