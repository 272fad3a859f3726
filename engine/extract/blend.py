"""Stream a per-tile function over a raster on the sliding-window grid and blend the overlaps.

Only a band of rows one tile high is held; every finished strip of rows is handed to
`on_rows` as soon as no later tile can touch it, so memory stays flat as the scene grows.
"""

from dataclasses import dataclass

import numpy as np

from ..core.errors import BuildSegError
from ..core.progress import Progress
from . import windows


@dataclass
class BlendStats:
    tiles: int = 0
    tiles_skipped: int = 0


FLUSH_ROWS = 128


def aoi_mask(aoi, transform, shape):
    from rasterio.features import geometry_mask

    return geometry_mask(aoi, out_shape=shape, transform=transform, invert=True, all_touched=True)


def blend_scene(src, bands, mean, std, tile_fn, channels: int, tile: int, overlap: int, batch: int, on_rows,
                progress: Progress, aoi=None) -> BlendStats:
    """Run `tile_fn` ((N, bands, tile, tile) normalised -> (N, channels, tile, tile)) over `src`.

    `on_rows(values, ok)` receives each finished strip: blended values (channels, rows, width) and the
    mask of pixels that are valid (not nodata, inside `aoi`, covered by a tile). All-invalid tiles are skipped.
    """
    from rasterio.transform import Affine

    mean = np.asarray(mean, np.float32)[:, None, None]
    std = np.asarray(std, np.float32)[:, None, None]
    ys, xs = windows.starts(src.height, tile, overlap), windows.starts(src.width, tile, overlap)
    window = windows.blend_window(tile, overlap)
    width = src.width
    cap = tile  # rows [y, y + tile) of the current row of tiles: earlier rows are flushed, later ones not begun
    acc = np.zeros((channels, cap, width), np.float32)
    wsum = np.zeros((cap, width), np.float32)
    valid = np.zeros((cap, width), bool)
    stats, total, done, buf_y = BlendStats(), len(ys) * len(xs), 0, 0

    def run(pending, r, rows_left):
        out = tile_fn(np.stack([d for _, d in pending]).astype(np.float32))
        h = min(tile, rows_left)
        for (x, _), values in zip(pending, out):
            w = min(tile, width - x)
            acc[:, r:r + h, x:x + w] += values[:, :h, :w] * window[:h, :w]
            wsum[r:r + h, x:x + w] += window[:h, :w]

    for i, y in enumerate(ys):
        pending = []
        for x in xs:
            progress.check()
            data, ok = src.read(bands, y, x, tile, tile)
            if aoi:
                ok &= aoi_mask(aoi, src.transform * Affine.translation(x, y), ok.shape)
            h, w = min(tile, src.height - y), min(tile, width - x)
            valid[y - buf_y:y - buf_y + h, x:x + w] |= ok[:h, :w]
            done += 1
            if not ok.any():
                stats.tiles_skipped += 1
                continue
            pending.append((x, (data - mean) / std))
            if len(pending) == batch:
                run(pending, y - buf_y, src.height - y)
                stats.tiles += len(pending)
                pending = []
                progress.set_progress(100.0 * done / total)
        if pending:
            progress.check()
            run(pending, y - buf_y, src.height - y)
            stats.tiles += len(pending)
            progress.set_progress(100.0 * done / total)
        n = (ys[i + 1] if i + 1 < len(ys) else src.height) - buf_y
        for r in range(0, n, FLUSH_ROWS):  # handed over in small strips: small temporaries downstream
            e = min(n, r + FLUSH_ROWS)
            on_rows(acc[:, r:e] / np.maximum(wsum[r:e], 1e-12), valid[r:e] & (wsum[r:e] > 0))
        keep = cap - n
        for r in range(0, keep, n):  # move the overlap rows up in chunks that cannot overlap: no copy
            e = min(keep, r + n)
            for buf in (acc, wsum, valid):
                buf[..., r:e, :] = buf[..., r + n:e + n, :]
        for buf in (acc, wsum, valid):
            buf[..., keep:, :] = 0
        buf_y += n
    if not stats.tiles:
        raise BuildSegError("No tile of the raster has valid pixels: it is nodata everywhere (or the area of "
                            "interest misses its data). Check the raster's nodata value and the area of interest.")
    return stats
