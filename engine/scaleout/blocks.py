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

import numpy as np

from ..core import device as devices
from ..core import memory
from ..core.atomic import atomic_path
from ..core.cache import ModelCache, file_sha256
from ..core.errors import BuildSegError
from ..core.options import MASK_NODATA, prob_nodata
from ..core.progress import Progress
from ..extract.blend import blend_scene
from ..extract.inference import ExtractParams, write_rows_out
from ..extract.plan import Plan, validate_bands
from ..extract.predict import int8_predictor, make_predictor, predict_tta
from ..io.raster import Grid, RasterSource, RowWriter
from ..models import modelfile

MANIFEST = "manifest.json"
WORKER_MODELS = ModelCache(size=1)  # per worker process: the predictor of the last model its blocks ran


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
    normalisation: tuple = None  # (mean, std) the plan chose for this raster (io.value_scale); None: the model's
    onnx: str = None  # the INT8 model the driver calibrated on the whole scene (backend onnxruntime-int8)

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

    params = ExtractParams(**job.params)
    info = modelfile.read_info(job.model)
    predictor = _predictor(job, info, params)
    target = info.class_index(params.target_class) if info.num_classes > 1 else 0
    class_ids = np.asarray([c["id"] for c in info.classes], np.uint8)
    with RasterSource(job.raster) as src:
        bands = validate_bands(info, src, params.bands)
        like = Grid(width=job.width, height=job.height, crs=src.crs,
                    transform=src.transform * Affine.translation(job.col, job.row))
        out = {"name": job.name}
        paths = job.paths()
        with atomic_path(paths["mask"]) as mask_tmp, atomic_path(paths["prob"]) as prob_tmp:
            outs = {"mask": RowWriter(mask_tmp, like, "uint8", MASK_NODATA),
                    "prob": RowWriter(prob_tmp, like, "uint8" if params.probability_uint8 else "float32",
                                      prob_nodata(params.probability_uint8))}
            try:
                region = (job.row, job.col, job.row + job.height, job.col + job.width)
                mean, std = job.normalisation or (info.mean, info.std)
                plan = Plan(dataclasses.replace(info, mean=list(mean), std=list(std)), bands, job.tile,
                            params.overlap)  # the driver's plan, as the job carries it (batch 1)
                blended = blend_scene(
                    src, plan, lambda x: predict_tta(predictor, x, params.tta), info.num_classes,
                    lambda values, ok: write_rows_out(values, ok, target, class_ids, params, outs),
                    Progress(), params.aoi, region)
            finally:
                for writer in outs.values():
                    writer.close()
    out.update({k: file_sha256(p) for k, p in paths.items()})
    out.update(tiles=blended.tiles, tiles_skipped=blended.tiles_skipped)
    out["peak_rss_mib"] = memory.peak_rss_mib()  # this worker's, so far
    return out


def _predictor(job, info, params):
    def load():
        if job.onnx:  # INT8: calibrated once by the driver, never per block
            return int8_predictor(job.onnx, job.threads)
        model, _ = modelfile.load(job.model, devices.resolve("cpu"))
        return make_predictor(job.model, model, info, devices.resolve("cpu"),
                              "onnxruntime" if params.backend == "auto" else params.backend, None, job.tile,
                              job.threads)

    int8 = (job.onnx, os.path.getmtime(job.onnx)) if job.onnx else None  # a re-run may calibrate it anew
    key = (os.path.abspath(job.model), os.path.getmtime(job.model), params.backend, job.threads, job.tile, int8)
    return WORKER_MODELS.get(key, load)


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

    def tiles(self, names) -> tuple:
        """(tiles run, tiles skipped as nodata) over the blocks `names`."""
        entries = [self.blocks.get(n, {}) for n in names]
        return sum(e.get("tiles", 0) for e in entries), sum(e.get("tiles_skipped", 0) for e in entries)

    def done(self, job: BlockJob) -> bool:
        """Finished and intact (files present with the recorded hashes)."""
        entry = self.blocks.get(job.name)
        if not entry:
            return False
        return all(os.path.exists(p) and file_sha256(p) == entry.get(k) for k, p in job.paths().items())

    def add(self, result: dict) -> None:
        self.blocks[result["name"]] = {k: result[k] for k in ("mask", "prob", "tiles", "tiles_skipped")}
        with atomic_path(self.path) as tmp, open(tmp, "w") as f:
            json.dump({"params_hash": self.params_hash, "blocks": self.blocks}, f, indent=1, sort_keys=True)
