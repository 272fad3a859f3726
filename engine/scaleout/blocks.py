"""Extraction split into blocks that any executor can run: one idempotent function per block, a manifest,
and a finalize step (VRT mosaic, outputs, polygons).

A block is a rectangle of output pixels. It runs every tile of the scene's global sliding-window grid that
touches it and blends them in the same order as the single-process path, so its pixels are bit-identical to
a whole-scene run whatever the block size. Each block writes its own GeoTIFFs (temporary name, then rename):
no two tasks ever write the same file. Polygons are made once, from the mosaic, by one writer (GDAL Polygonize,
4-connected): buildings that cross seams stay whole and buildings touching only diagonally stay two.
"""

import dataclasses
import hashlib
import json
import os
from types import SimpleNamespace

import numpy as np

from ..core import memory
from ..core.atomic import atomic_path
from ..core.errors import BuildSegError
from ..extract import windows
from ..extract.predict import file_sha256
from ..models import modelfile

MANIFEST = "manifest.json"
_PREDICTORS = {}  # per process: (model path, mtime, backend, threads) -> predictor


@dataclasses.dataclass(frozen=True)
class BlockJob:
    """Everything a worker needs for one block (picklable, no open handles)."""

    raster: str
    model: str
    params: dict  # ExtractParams as a dict
    tile: int
    row: int
    col: int
    height: int
    width: int
    work_dir: str
    threads: int = 1

    @property
    def name(self) -> str:
        return f"block_{self.row:07d}_{self.col:07d}"

    def paths(self) -> dict:
        return {k: os.path.join(self.work_dir, f"{self.name}_{k}.tif") for k in ("mask", "prob")}


def block_size(requested: int, tile: int, overlap: int) -> int:
    """The block side in px: a whole number of sliding-window strides (no tile is cut without need)."""
    stride = max(1, tile - overlap)
    return max(stride, (max(requested, tile) // stride) * stride)


def plan(width: int, height: int, block: int) -> list:
    """[(row, col, height, width)] covering the scene."""
    return [(r, c, min(block, height - r), min(block, width - c))
            for r in range(0, height, block) for c in range(0, width, block)]


def run_block(job: BlockJob) -> dict:
    """Compute one block's mask and probability; returns {"name", "mask": sha256, "prob": sha256}.

    Idempotent: the same job always writes the same bytes.
    """
    from rasterio.transform import Affine

    from ..extract.inference import ExtractParams, validate_bands, write_rows_out
    from ..extract.predict import predict_tta
    from ..io.raster import RasterSource, RowWriter

    params = ExtractParams(**job.params)
    info = modelfile.read_info(job.model)
    predictor = _predictor(job, info, params)
    target = info.class_index(params.target_class) if info.num_classes > 1 else 0
    class_ids = np.asarray([c["id"] for c in info.classes], np.uint8)
    with RasterSource(job.raster) as src:
        bands = validate_bands(info, src, params.bands)
        values, ok = blend_block(src, bands, info, lambda x: predict_tta(predictor, x, params.tta), job,
                                 params)
        like = SimpleNamespace(width=job.width, height=job.height, crs=src.crs,
                               transform=src.transform * Affine.translation(job.col, job.row))
        out = {"name": job.name}
        paths = job.paths()
        with atomic_path(paths["mask"]) as mask_tmp, atomic_path(paths["prob"]) as prob_tmp:
            from ..extract.inference import MASK_NODATA, PROB_NODATA

            outs = {"mask": RowWriter(mask_tmp, like, "uint8", MASK_NODATA),
                    "prob": RowWriter(prob_tmp, like, "uint8" if params.probability_uint8 else "float32",
                                      255 if params.probability_uint8 else PROB_NODATA)}
            try:
                write_rows_out(values, ok, target, class_ids, params, outs)
            finally:
                for writer in outs.values():
                    writer.close()
    out.update({k: file_sha256(p) for k, p in paths.items()})
    out["peak_rss_mib"] = memory.peak_rss_mib()  # this worker's, so far
    return out


def _predictor(job, info, params):
    from ..core import device as devices
    from ..extract.predict import make_predictor

    key = (os.path.abspath(job.model), os.path.getmtime(job.model), params.backend, job.threads, job.tile)
    if key not in _PREDICTORS:
        _PREDICTORS.clear()
        model, _ = modelfile.load(job.model, devices.resolve("cpu"))
        _PREDICTORS[key] = make_predictor(job.model, model, info, devices.resolve("cpu"),
                                          "onnxruntime" if params.backend == "auto" else params.backend, None,
                                          job.tile, job.threads)
    return _PREDICTORS[key]


def blend_block(src, bands, info, tile_fn, job: BlockJob, params):
    """(blended values (channels, h, w), valid mask) of the block: exactly what blend_scene gives there."""
    from rasterio.transform import Affine

    from ..extract.blend import aoi_mask

    tile, overlap = job.tile, params.overlap
    r0, c0, r1, c1 = job.row, job.col, job.row + job.height, job.col + job.width
    ys = [y for y in windows.starts(src.height, tile, overlap) if y < r1 and y + tile > r0]
    xs = [x for x in windows.starts(src.width, tile, overlap) if x < c1 and x + tile > c0]
    window = windows.blend_window(tile, overlap)
    mean = np.asarray(info.mean, np.float32)[:, None, None]
    std = np.asarray(info.std, np.float32)[:, None, None]
    acc = np.zeros((info.num_classes, job.height, job.width), np.float32)
    wsum = np.zeros((job.height, job.width), np.float32)
    valid = np.zeros((job.height, job.width), bool)
    for y in ys:
        for x in xs:
            data, ok = src.read(bands, y, x, tile, tile)
            if params.aoi:
                ok &= aoi_mask(params.aoi, src.transform * Affine.translation(x, y), ok.shape)
            h, w = min(tile, src.height - y), min(tile, src.width - x)
            ty0, tx0 = max(r0, y) - y, max(c0, x) - x  # the part of the tile inside the block
            ty1, tx1 = min(r1, y + h) - y, min(c1, x + w) - x
            by, bx = y + ty0 - r0, x + tx0 - c0
            dst = np.s_[by:by + ty1 - ty0, bx:bx + tx1 - tx0]
            valid[dst] |= ok[ty0:ty1, tx0:tx1]
            if not ok.any():
                continue
            values = tile_fn(((data - mean) / std)[None].astype(np.float32))[0]
            acc[(slice(None),) + dst] += values[:, ty0:ty1, tx0:tx1] * window[ty0:ty1, tx0:tx1]
            wsum[dst] += window[ty0:ty1, tx0:tx1]
    ok = valid & (wsum > 0)
    return acc / np.maximum(wsum, 1e-12), ok


def run_hash(raster: str, model: str, params: dict, tile: int, block: int) -> str:
    """What must not change between a crashed run and its re-run."""
    st = os.stat(raster)
    key = {"raster": [os.path.abspath(raster), st.st_size, int(st.st_mtime)], "model": file_sha256(model),
           "params": {k: v for k, v in params.items() if k not in ("device", "batch_size")}, "tile": tile,
           "block": block}
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


class Manifest:
    """Finished blocks with their hashes, and the run's parameter hash; written atomically after each block."""

    def __init__(self, work_dir: str, params_hash: str):
        self.path = os.path.join(work_dir, MANIFEST)
        self.blocks = {}
        if os.path.exists(self.path):
            with open(self.path) as f:
                data = json.load(f)
            if data.get("params_hash") != params_hash:
                raise BuildSegError(f"The work folder {work_dir} holds blocks of a run with other parameters "
                                    "(raster, model, tiling or thresholds): delete it or choose another one.")
            self.blocks = data.get("blocks", {})
        self.params_hash = params_hash

    def done(self, job: BlockJob) -> bool:
        """Finished and intact (files present with the recorded hashes)."""
        entry = self.blocks.get(job.name)
        if not entry:
            return False
        return all(os.path.exists(p) and file_sha256(p) == entry.get(k) for k, p in job.paths().items())

    def add(self, result: dict) -> None:
        self.blocks[result["name"]] = {k: result[k] for k in ("mask", "prob")}
        with atomic_path(self.path) as tmp, open(tmp, "w") as f:
            json.dump({"params_hash": self.params_hash, "blocks": self.blocks}, f, indent=1, sort_keys=True)
