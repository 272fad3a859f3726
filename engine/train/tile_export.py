"""Datasets on disk: cut rasters + labels into tile files (read back by engine.io.layouts)."""

import os
from pathlib import Path

import numpy as np

from ..core.atomic import atomic_dir, atomic_path
from ..core.errors import BuildSegError
from ..core.progress import Progress
from ..core.windows import starts
from ..io.labels import IGNORE, as_target
from ..io.scene import Scene
from .dataset import read_sample

SPLITS = ("train", "val", "test")


def tile_windows(scene: Scene, tile: int, mode: str, stride: int, count: int, rng):
    """(row, col) origins: a regular grid with `stride`, or `count` random windows."""
    h, w = scene.src.height, scene.src.width
    if mode == "random":
        return [(int(rng.integers(0, max(1, h - tile + 1))), int(rng.integers(0, max(1, w - tile + 1))))
                for _ in range(count)]
    return [(r, c) for r in starts(h, tile, tile - stride) for c in starts(w, tile, tile - stride)]


def prepare_tiles(scenes, out_dir: str, tile: int, mode: str = "stride", stride: int = None, count: int = 100,
                  ratios=(0.8, 0.1, 0.1), seed: int = 0, bands=None, min_valid: float = 0.5,
                  progress: Progress = None) -> dict:
    """Write out_dir/{train,val,test}/{images,masks}/*.tif (georeferenced; out_dir new or empty, appearing
    complete or not at all); returns tiles per split."""
    progress = progress or Progress()
    if abs(sum(ratios) - 1) > 1e-6 or any(r < 0 for r in ratios):
        raise BuildSegError(f"Split ratios {ratios} must be three non-negative numbers summing to 1.")
    rng = np.random.default_rng(seed)
    counts = {s: 0 for s in SPLITS}
    jobs = []
    for s in scenes:
        s.open()
        for r, c in tile_windows(s, tile, mode, stride or tile, count, rng):
            jobs.append((s, r, c))
    split_of = rng.choice(len(SPLITS), size=len(jobs), p=list(ratios))
    with atomic_dir(out_dir) as staging:
        for split in SPLITS:
            for sub in ("images", "masks"):
                os.makedirs(os.path.join(staging, split, sub))
        _write_tiles(jobs, split_of, staging, tile, bands, min_valid, counts, progress)
    return counts


def _write_tiles(jobs, split_of, out_dir, tile, bands, min_valid, counts, progress) -> None:
    import rasterio

    for k, ((s, r, c), si) in enumerate(zip(jobs, split_of)):
        progress.check()
        progress.set_progress(100.0 * k / max(1, len(jobs)))
        b = bands or list(range(1, s.src.count + 1))
        img, lab = read_sample(s, b, r, c, tile)
        lab = as_target(lab)
        if (lab != IGNORE).mean() < min_valid:
            continue
        split = SPLITS[si]
        name = f"{Path(s.raster).stem}_r{r}_c{c}.tif"
        transform = s.src.transform * rasterio.Affine.translation(c, r)
        profile = {"driver": "GTiff", "width": tile, "height": tile, "crs": s.src.crs, "transform": transform,
                   "compress": "deflate"}
        for sub, data, dtype, count_ in (("images", img, s.src.dtype, len(b)), ("masks", lab[None], "uint8", 1)):
            path = os.path.join(out_dir, split, sub, name)
            with atomic_path(path) as tmp, rasterio.open(tmp, "w", count=count_, dtype=dtype, **profile) as dst:
                dst.write(data.astype(dtype))
        counts[split] += 1
