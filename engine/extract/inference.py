"""Streaming sliding-window extraction: raster in, mask / probability / polygons out.

Memory stays flat: only a band of rows (one tile high plus one stride) is held;
finished rows are written to disk as soon as no later tile can touch them.
"""

import contextlib
import functools
import os
import time
from dataclasses import dataclass, field

import numpy as np

from ..core import device as devices
from ..core import memory, windows
from ..core.atomic import (
    LOW_SPACE,
    DiskFull,
    atomic_paths,
    check_space,
    check_writable,
    disk_full_error,
    free_bytes,
    work_dir,
)
from ..core.cache import model_sha256
from ..core.device import cpu_threads
from ..core.errors import BuildSegError, Cancelled, first_line
from ..core.options import MASK_NODATA, PROB_NODATA, PROB_UINT8_NODATA, prob_nodata
from ..core.progress import EtaProgress, Progress
from ..io import resample
from ..io.labels import geojson_bounds
from ..io.raster import RasterSource, RowWriter, open_source, src_path, valid_share
from ..models import modelfile, onnx_interop
from ..postprocess.vectorize import StripPolygonizer, polygonize
from .adapt import ADAPT_TILES, adapt_normalisation
from .backend import choose as choose_backend
from .blend import blend_scene
from .fit import preflight
from .params import ExtractParams
from .pipeline import Background
from .plan import make_plan
from .predict import (
    TTA_MODES,
    OnnxPredictor,
    TorchPredictor,
    cached_onnx_path,
    export_onnx,
    make_predictor,
    predict_tta,
)

# a CUDA batch of 2 MP: 32 tiles of 256 px ran 22 % faster than 8 on an H200 (benchmarks/cuda_check.py)
CUDA_BATCH_PIXELS = 32 * 256 * 256


def default_batch(device, tile: int) -> int:
    """Tiles per batch when none is given: one on CPU (ONNX Runtime uses every core on one tile), on CUDA as
    many as make CUDA_BATCH_PIXELS (fewer when memory is short: memory.fit_batch)."""
    return max(1, CUDA_BATCH_PIXELS // (tile * tile)) if device.type == "cuda" else 1


@dataclass
class ExtractResult:
    device: str = ""
    backend: str = ""
    tiles: int = 0
    tiles_skipped: int = 0
    building_pixels: int = 0
    buildings: int = 0
    building_area_m2: float = 0.0
    seconds: float = 0.0
    outputs: dict = field(default_factory=dict)
    fit: object = None  # engine.extract.fit.FitReport of the check at the start, when asked for and possible
    blocks: object = None  # engine.scaleout.cluster.BlockStats of a block run (extract_blocks)

    def finish(self, outputs, t0: float, progress: Progress):
        """Record the (mask, probability, polygons) paths written and the time since `t0`; report 100%."""
        self.outputs = {k: v for k, v in zip(("mask", "probability", "polygons"), outputs) if v}
        self.seconds = time.time() - t0
        progress.set_progress(100)
        return self


def extract(raster, model_path: str, out_mask: str = None, out_probability: str = None,
            out_polygons: str = None, params: ExtractParams = None, progress: Progress = None,
            model_cache: dict = None) -> ExtractResult:
    """Run a model over a raster (a path, or a source such as raster.BlockSource); write outputs atomically."""
    params = params or ExtractParams()
    progress = progress or Progress()
    t0 = time.time()
    _check_request(raster, model_path, (out_mask, out_probability, out_polygons), params)
    info = modelfile.read_info(model_path)
    with open_source(raster) as src:
        plan = make_plan(src, info, params.bands, params.tile_size, params.overlap, progress,
                         params.max_tile_pixels, params.work_resolution, params.scene_colours)
        _check_output_space(src, out_mask, out_probability, params.probability_uint8)
        _check_work_space(src, plan, out_polygons and not (out_mask and out_probability), progress, params.aoi)

        dev = devices.resolve_without_torch(params.device) if _needs_no_torch(params) else \
            devices.resolve(params.device)
        plan = plan.for_batch(params.batch_size or default_batch(dev, plan.tile), params.max_tile_pixels)
        plan = plan.for_batch(memory.fit_batch(plan.tile, plan.batch, info.in_channels,
                                               blend_bytes(src, plan.tile, info.num_classes), progress, dev,
                                               memory.inference_kind(params.backend, dev)))
        result = ExtractResult(device=devices.describe(dev, params.threads))
        if params.check_fit:
            result.fit = preflight(raster, model_path, progress.sub(0, 5), model_cache, params.aoi, run=extract)
            progress = progress.sub(5, 100)
        progress.info(f"Device: {result.device}")
        progress.info(f"Model: {info.summary()}")
        assumed = (info.training or {}).get("assumed")
        if assumed:
            progress.warn(f"The model file does not say everything BuildSeg needs; assumed: {'; '.join(assumed)}. "
                          "Check the results, or export the model with its metadata (Deepness/GeoDeep keys or "
                          "BuildSeg's).")
        calibration = int8_calibration(src, plan)
        predictor = _predictor(model_path, info, dev, params, model_cache, calibration, plan, src, progress)
        result.backend = predictor.name
        progress.info(f"Backend: {predictor.name}; tile {plan.tile} px, overlap {plan.overlap} px, batch {plan.batch}")
        progress = EtaProgress(progress, "Extraction")
        with contextlib.ExitStack() as stack:
            work = stack.enter_context(work_dir("buildseg-"))
            if params.adapt:
                predictor = _adapted_predictor(model_path, info, src, plan, dev, params, work, progress) or predictor
            # the outputs appear together or not at all (a full disk while writing one fails them all)
            mask_path, prob_path, poly_path = stack.enter_context(atomic_paths(out_mask, out_probability,
                                                                               out_polygons))
            prov = provenance(model_path, src, result.fit)
            if plan.grid is None:  # polygons are traced from the rows as they are finished
                _sliding_window(src, plan, predictor, params, (mask_path, prob_path, poly_path), result, progress,
                                prov)
            else:
                mask_path, prob_path = _via_model_grid(src, plan, predictor, params, (mask_path, prob_path,
                                                       poly_path), result, progress, work, prov)
            tag_rasters((mask_path, prob_path), prov)
    return result.finish((out_mask, out_probability, out_polygons), t0, progress)


def check_outputs(raster, model_path, outputs) -> list:
    """The outputs asked for; refuses none at all, and any that cannot be written (or would overwrite an
    input)."""
    outs = [o for o in outputs if o]
    if not outs:
        raise BuildSegError("No output requested: choose at least one of mask, probability or polygons.")
    for out in outs:
        check_writable(out, inputs=[src_path(raster), model_path])
    return outs


def _check_request(raster, model_path, outputs, params) -> None:
    """Refusals before any work: an unknown augmentation, no output or one that cannot be written."""
    if params.tta not in TTA_MODES:
        raise BuildSegError(f"Unknown test-time augmentation '{params.tta}': use {', '.join(TTA_MODES)}.")
    check_outputs(raster, model_path, outputs)


def _via_model_grid(src, plan, predictor, params, paths, result, progress, work, prov):
    """The model run on a warped view of `src` at the model's resolution, its outputs warped back onto the input's
    grid, polygons traced from them. Returns the (mask, probability) paths written (in `work` when only polygons
    were asked for)."""
    mask_path, prob_path, poly_path = paths
    if poly_path:  # polygons need a mask and a probability raster, kept in `work` if not asked for
        mask_path = mask_path or os.path.join(work, "mask.tif")
        prob_path = prob_path or os.path.join(work, "probability.tif")
    with RasterSource(plan.model_input(src, work)) as warped:
        m = os.path.join(work, "mask_model_grid.tif") if mask_path else None
        p = os.path.join(work, "prob_model_grid.tif") if prob_path else None
        _sliding_window(warped, plan, predictor, params, (m, p, None), result,
                        progress.sub(0, 85 if poly_path else 100).sub(0, 90))
    resample.back_to_input_grid(src, m, mask_path, p, prob_path, params.probability_uint8)
    if poly_path:
        result.buildings, result.building_area_m2 = polygonize(mask_path, prob_path, poly_path, plan.info, params,
                                                               progress.sub(85, 100), provenance=prov)
    return mask_path, prob_path


def _check_output_space(src, out_mask, out_probability, probability_uint8: bool) -> None:
    """Refuse up front outputs that cannot fit on their disk (compressed sizes, guessed low: masks about
    1/20 byte per pixel, float probabilities about 2 bytes), instead of failing after the work."""
    pixels = src.width * src.height
    for out, per_pixel in ((out_mask, 0.05), (out_probability, 0.5 if probability_uint8 else 2.0)):
        if out:
            check_space(out, int(pixels * per_pixel))


def _aoi_share(src, aoi) -> float:
    """The share of the raster's extent that the area of interest's bounds cover (1 without one): only there
    are tiles run and results written (outside, nodata compresses to almost nothing)."""
    if not aoi:
        return 1.0
    left, bottom, right, top = src.bounds()
    b = np.array([geojson_bounds(g) for g in aoi])
    w = max(0.0, min(right, b[:, 2].max()) - max(left, b[:, 0].min()))
    h = max(0.0, min(top, b[:, 3].max()) - max(bottom, b[:, 1].min()))
    return min(1.0, w * h / max(1e-12, (right - left) * (top - bottom)))


def work_estimate(src, plan, aoi=None) -> tuple:
    """(pixels on the model's grid, tiles, share of the raster) a run reads: within the area of interest's
    bounds, at the model's resolution."""
    share = scale = _aoi_share(src, aoi)
    if plan.grid is not None and plan.resolution:
        scale *= (resample.ground_metres(src) / plan.resolution) ** 2
    stride = max(1, plan.tile - plan.overlap)  # windows.starts
    tiles = int(np.ceil(src.width * np.sqrt(scale) / stride) * np.ceil(src.height * np.sqrt(scale) / stride))
    return src.width * src.height * scale, tiles, share


def _check_work_space(src, plan, polygons_only: bool, progress, aoi=None) -> None:
    """Say up front how much the run reads and writes (pixels on the model's grid, tiles), and refuse a run
    whose work folder cannot hold the resampled results (the model's grid: a 1 m scene is 11 times the pixels
    at 0.3 m) or the rasters polygons are traced from."""
    import tempfile

    model_px, tiles, share = work_estimate(src, plan, aoi)
    work = (model_px * 2.05 if plan.grid is not None else 0) + \
        (src.width * src.height * share * 2.05 if polygons_only else 0)
    folder = tempfile.gettempdir()
    free = free_bytes(folder)
    progress.info(f"Work: {model_px / 1e6:,.1f} MP on the model's grid, about {tiles:,} tiles of {plan.tile} px"
                  + (f"; the work folder needs about {work / 2**20:,.0f} MB ({free / 2**20:,.0f} MB free in {folder})"
                     if work else "") + ".")
    if work > free:
        raise DiskFull(f"Not enough disk space for the work folder: this run needs about {work / 2**30:.1f} GB in "
                       f"{folder}, which has {free / 2**30:.1f} GB free. Extract a smaller area (area of interest), "
                       "free some space, or point TMPDIR at a larger disk.")


def blend_bytes(src, tile: int, channels: int) -> int:
    """Bytes of the row buffers blend_scene holds (values, weights, validity over one tile height) and of the
    small strips waiting for the writing stage and their temporaries."""
    return (channels + 2) * (tile + 4 * 128) * src.width * 4


def _adapted_predictor(model_path, info, src, plan, dev, params, work, progress):
    """A predictor of the model with its normalisation statistics re-estimated on this scene (a fresh copy: the
    cached model is not touched); None, with a warning, where the model has none to adapt."""
    if info.architecture == onnx_interop.ARCHITECTURE:
        progress.warn("An ONNX model's normalisation statistics cannot be adapted: it runs as it is.")
        return None
    if params.backend == "onnxruntime-int8":
        raise BuildSegError("Adapting the model to the scene and the INT8 backend do not go together: choose "
                            "backend auto, or switch adaptation off.")
    model, _ = modelfile.load(model_path, dev)
    tiles = int8_calibration(src, plan, ADAPT_TILES)[1]()
    adapted = adapt_normalisation(model, tiles, progress=progress)
    if not adapted:
        progress.warn("The model has no normalisation statistics to adapt: it runs as it is.")
        return None
    progress.info(f"Normalisation statistics of {adapted} layers re-estimated on {len(tiles)} tiles of this scene "
                  "(weights unchanged).")
    threads = cpu_threads(params.threads)
    if dev.type == "cpu" and params.backend in ("auto", "onnxruntime"):
        path = os.path.join(work, "adapted.onnx")
        export_onnx(model, info, path, plan.tile)
        return OnnxPredictor(path, threads)
    return TorchPredictor(model, dev, threads)


def _predictor(model_path, info, dev, params, cache, calibration, plan, src, progress):
    """The model's predictor for the backend asked for; 'auto' on a CPU may run INT8 (extract.backend), and falls
    back to float32, with a warning, where INT8 cannot be made for this scene."""
    threads = cpu_threads(params.threads)
    backend, why = auto_backend(params, dev, info, src, plan)
    if backend != params.backend:
        predictor = auto_int8(why, lambda: _load(model_path, info, dev, backend, cache, calibration, plan.tile,
                                                 threads), progress)
        if predictor is not None:
            return predictor
    return _load(model_path, info, dev, params.backend, cache, calibration, plan.tile, threads)


def auto_int8(why: str, make, progress):
    """`make()`, the INT8 model backend auto chose (the log says why), or None, with a warning, where it cannot be
    made for this scene: INT8 was BuildSeg's choice, not the user's, so float32 runs instead."""
    progress.info(f"Backend {why}.")
    try:
        return make()
    except Cancelled:
        raise
    except Exception as e:  # noqa: BLE001 - any failure of the quantization leaves float32 to run
        progress.warn(f"INT8 could not be prepared for this scene ({first_line(e)}): running in float32.")
        return None


def auto_backend(params, dev, info, src, plan) -> tuple:
    """(backend, why) a run uses for `params.backend` (extract.backend.choose), judging the scene by the pixels on
    the model's grid that hold imagery (tiles of nodata are skipped): the same for a whole-scene run and the
    driver of a block run, so both run the same model."""
    return choose_backend(params.backend, dev.type, info.architecture == onnx_interop.ARCHITECTURE, params.adapt,
                          lambda: work_estimate(src, plan, params.aoi)[0] / 1e6,
                          lambda: valid_share(src, plan.bands) if src.path else 1.0)  # a web layer: not sampled


def int8_calibration(src, plan, count: int = 8) -> tuple:
    """(cache key, callable returning `count` tiles) for INT8 calibration (and scene adaptation), read where the
    model will run: on the model's grid when the input is resampled to it (a 0.5 m scene calibrates a 0.3 m
    model on 0.3 m tiles)."""
    def tiles():
        if plan.grid is None:
            return calibration_tiles(src, plan.bands, plan.info, plan.tile, count)
        with work_dir("buildseg-calibration-") as work, RasterSource(plan.model_input(src, work)) as warped:
            return calibration_tiles(warped, plan.bands, plan.info, plan.tile, count)

    grid = f":{plan.grid[1]:g}m" if plan.grid else ""
    norm = f":{plan.info.mean}:{plan.info.std}"  # the scene's own statistics calibrate apart from the model's
    return f"{src.identity()}:{plan.bands}:{plan.tile}{norm}{grid}", tiles


def calibration_tiles(src, bands, info, tile, count: int = 8):
    """Up to `count` normalised tiles with valid pixels, spread over the scene (INT8 calibration): mostly valid
    tiles first; a scene with gaps everywhere (a drone mosaic, a clipped strip) settles for partly valid ones."""
    mean = np.asarray(info.mean, np.float32)[:, None, None]
    std = np.asarray(info.std, np.float32)[:, None, None]
    grid = [(w.y, w.x) for row in windows.tile_rows(src.height, src.width, tile) for w in row.windows]
    step = max(1, len(grid) // count)
    spread = grid[::step] + [g for i, g in enumerate(grid) if i % step]  # evenly spread first, then the rest
    for least_valid in (0.5, 0.05):
        out = []
        for y, x in spread:
            data, ok = src.read(bands, y, x, tile, tile)
            if ok.mean() > least_valid:
                out.append(((data - mean) / std)[None])
            if len(out) == count:
                return out
        if out:
            return out
    raise BuildSegError("No tile of the raster has enough valid pixels to calibrate INT8; use backend auto.")


def _onnx_model(model_path, info, backend, tile, threads):
    if backend not in ("auto", "onnxruntime"):
        raise BuildSegError(f"ONNX models run with the onnxruntime backend (on CPU), not '{backend}': choose "
                            "backend auto.")
    onnx_interop.check_tile(info, tile)
    predictor = OnnxPredictor(model_path, threads)
    onnx_interop.check_output(predictor, info, tile, model_path)
    return predictor


def _needs_no_torch(params) -> bool:
    """Whether the run may go without torch: ONNX Runtime's backends where the device is the CPU, no adaptation
    of the model's statistics (that is torch)."""
    return params.backend in ("auto", "onnxruntime") and not params.adapt


def _load(model_path, info, dev, backend, cache, calibration, tile, threads):
    """The model's predictor, reused from `cache` (an engine.core.cache.ModelCache) when given. On a CPU chosen
    without torch, a model file whose ONNX export is cached runs from it without loading torch, and is quantized
    to INT8 from it without loading the torch model (ONNX Runtime's quantizer imports torch itself)."""
    def load():
        if info.architecture == onnx_interop.ARCHITECTURE:  # a Deepness/GeoDeep or exported ONNX model
            return _onnx_model(model_path, info, backend, tile, threads)
        exported = cached_onnx_path(model_path, info, tile) if isinstance(dev, devices.CpuOnly) else None
        if exported and backend == "onnxruntime-int8":  # quantized from the cached export: no torch model
            return make_predictor(model_path, None, info, dev, backend, calibration, tile, threads)
        if exported:
            return OnnxPredictor(exported, threads)
        device = devices.as_torch(dev)
        model, _ = modelfile.load(model_path, device)
        return make_predictor(model_path, model, info, device, backend, calibration, tile, threads)

    if cache is None:
        return load()
    key = (os.path.abspath(model_path), os.path.getmtime(model_path), str(dev), backend, threads, tile,
           calibration[0] if backend == "onnxruntime-int8" else None)
    return cache.get(key, load)


def provenance(model_path: str, src, fit=None) -> dict:
    """How the outputs were made: fields of each building polygon (vectorize.PROVENANCE) and metadata of every
    output layer (with the model-fit check's score and verdict when it ran)."""
    try:
        res = round(float(src.ground_resolution()), 3)
    except Exception:
        res = None
    return {"model": os.path.basename(model_path), "model_sha": model_sha256(model_path)[:16],
            "image": os.path.basename(src.path or src.name or ""), "res_m": res, **(fit.metadata() if fit else {})}


def tag_rasters(paths, provenance: dict) -> None:
    """Provenance as BUILDSEG_* metadata items of the GeoTIFFs written (shown in QGIS's layer properties)."""
    from osgeo import gdal

    for path in paths:
        if not path:
            continue
        ds = gdal.Open(path, gdal.GA_Update)
        if ds is None:
            if free_bytes(os.path.dirname(os.path.abspath(path))) < LOW_SPACE:  # the raster was cut short
                raise disk_full_error(path)
            raise BuildSegError(f"Cannot reopen {path} to record its provenance: " + gdal.GetLastErrorMsg())
        for k, v in provenance.items():
            if v is not None:
                ds.SetMetadataItem(f"BUILDSEG_{k.upper()}", str(v))
        ds = None  # closes and flushes


def _sliding_window(src, plan, predictor, params, paths, result, progress, prov=None):
    """Blend the model's output over `src` as `plan` says; a background stage writes the finished rows to the
    (mask, probability, polygons) `paths` asked for and traces polygons."""
    mask_path, prob_path, poly_path = paths
    info = plan.info
    target = info.class_index(params.target_class) if info.num_classes > 1 else 0
    class_ids = np.asarray([c["id"] for c in info.classes], np.uint8)
    prob_dtype = "uint8" if params.probability_uint8 else "float32"
    outs = {}
    try:
        if mask_path:
            outs["mask"] = RowWriter(mask_path, src, "uint8", MASK_NODATA)
        if prob_path:
            outs["prob"] = RowWriter(prob_path, src, prob_dtype, prob_nodata(params.probability_uint8))
        if poly_path:
            outs["polygons"] = StripPolygonizer(poly_path, src.crs_wkt, src.transform.to_gdal(), src.height,
                                                info, params, prov)
        # two classes: the target's probability decides, so only that channel is blended (half the row memory)
        keep = slice(target, target + 1) if info.num_classes == 2 else slice(None)
        tile_fn = memory.split_on_oom(lambda x: predict_tta(predictor, x, params.tta)[:, keep], progress)
        channels = 1 if info.num_classes == 2 else info.num_classes
        # two stages beside the model: one writes the rasters, the next traces polygons (GDAL's compression
        # and writing run while the buildings of earlier rows are split); the inner one is drained first
        with Background() as shapes, Background() as rows:
            stats = blend_scene(src, plan, tile_fn, channels, lambda prob, ok: rows.submit(
                lambda: write_rows_out(prob, ok, target, class_ids, params, outs, shapes.submit)), progress,
                params.aoi)
        result.building_pixels += sum(rows.results)  # counts returned by the writing stage, summed here
        if poly_path:
            result.buildings, result.building_area_m2 = outs.pop("polygons").close()
    finally:  # on an error the polygons are dropped, the rasters closed (the caller removes the files)
        for out in outs.values():
            out.discard() if hasattr(out, "discard") else out.close()
    result.tiles, result.tiles_skipped = stats.tiles, stats.tiles_skipped


def write_rows_out(prob, ok, target, class_ids, params, outs, later=None) -> int:
    """Write finished rows: `prob` holds every class's probability, or for two classes the target's alone.
    `later(call)`: where the polygons' share runs (another stage), else here. Returns the rows' building
    pixels."""
    p_target = prob[0] if prob.shape[0] == 1 else prob[target]
    p = np.clip(p_target, 0, 1)
    if "prob" in outs:
        if params.probability_uint8:
            outs["prob"].write_rows(np.where(ok, np.round(p * 254), PROB_UINT8_NODATA).astype(np.uint8))
        else:
            outs["prob"].write_rows(np.where(ok, p, PROB_NODATA).astype(np.float32))
    if len(class_ids) == 2:
        cls = np.where(p_target >= params.threshold, class_ids[target], class_ids[1 - target])
    else:
        cls = class_ids[np.argmax(prob, axis=0)]
    building = ok & (cls == class_ids[target])
    if "mask" in outs:
        outs["mask"].write_rows(np.where(ok, cls, MASK_NODATA).astype(np.uint8))
    if "polygons" in outs:
        trace = functools.partial(outs["polygons"].add, building, p)
        later(trace) if later else trace()
    return int(building.sum()) if len(class_ids) > 1 else 0
