"""Block extraction driver and its executors: in-process loop, Dask LocalCluster, remote Dask scheduler.

The driver plans blocks, skips those the manifest lists as finished and intact, runs the rest through an
executor, records each result in the manifest as it arrives, then finalizes: VRT mosaics of the block rasters,
the requested outputs (GeoTIFF, atomically) and the polygons (one writer, from the mosaic).
"""

import dataclasses
import os
import shutil
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass

from ..core import device as devices
from ..core.atomic import atomic_path
from ..core.device import cpu_threads
from ..core.errors import BuildSegError, Cancelled
from ..core.paths import PLUGIN_DIR
from ..core.progress import Progress
from ..extract.fit import preflight
from ..extract.inference import (
    ExtractParams,
    ExtractResult,
    auto_backend,
    auto_int8,
    check_outputs,
    extract,
    int8_calibration,
    provenance,
    tag_rasters,
)
from ..extract.plan import make_plan
from ..extract.predict import cached_int8
from ..io import resample
from ..io.raster import RasterSource
from ..models import modelfile
from ..postprocess.vectorize import polygonize
from . import blocks as blk

EXECUTORS = ("inprocess", "local", "scheduler")


@dataclass
class BlockStats:
    """How a block run went: ExtractResult.blocks of extract_blocks."""

    count: int = 0
    computed: int = 0
    reused: int = 0  # finished and intact in the manifest of an earlier, interrupted run
    work_dir: str = ""
    peak_rss_mib: float = 0.0  # the largest resident memory a block process reached
    startup_seconds: float = 0.0  # starting or joining the cluster, shipping the engine
    compute_seconds: float = 0.0  # from the cluster being ready to the last block done
    executor: str = ""


def extract_blocks(raster: str, model: str, out_mask: str = None, out_probability: str = None,
                   out_polygons: str = None, params=None, block: int = 1024, executor: str = "inprocess",
                   workers: int = 2, scheduler: str = None, work_dir: str = None, keep_blocks: bool = False,
                   progress: Progress = None, threads: int = None):
    """Extraction by blocks; the same outputs as inference.extract, bit for bit, and the same result type
    (ExtractResult, with `blocks` telling how the blocks went)."""
    params = params or ExtractParams()
    progress = progress or Progress()
    t0 = time.time()
    outs = _check_request(raster, model, (out_mask, out_probability, out_polygons), executor)
    info = modelfile.read_info(model)
    work_dir = work_dir or os.path.splitext(outs[0])[0] + ".blocks"
    with RasterSource(raster) as src:
        plan = make_plan(src, info, params.bands, params.tile_size, params.overlap, progress,
                         params.max_tile_pixels, params.work_resolution, params.scene_colours)
        os.makedirs(work_dir, exist_ok=True)
        source = plan.model_input(src, work_dir) if plan.grid else raster
    with RasterSource(source) as src:
        width, height = src.width, src.height
    tile, grid = plan.tile, plan.grid
    side = blk.block_size(block, tile, params.overlap)
    fit = None
    if params.check_fit:  # once for the run, not per block

        fit = preflight(raster, model, progress.sub(0, 5), aoi=params.aoi, run=extract)
        progress = progress.sub(5, 100)
        params = dataclasses.replace(params, check_fit=False)
    params, onnx = _backend(raster, model, info, plan, params, work_dir, progress)
    pdict = {**dataclasses.asdict(params), "bands": list(plan.bands)}  # the plan's (colour interpretation)
    manifest = blk.Manifest(work_dir, blk.run_hash(raster, model, pdict, tile, side))
    threads = threads or (1 if executor != "inprocess" else _cpu_threads(params.threads))
    norm = (tuple(plan.info.mean), tuple(plan.info.std))  # the plan's: the scene's own for other value scales
    jobs = [blk.BlockJob(source, os.path.abspath(model), pdict, tile, r, c, h, w, work_dir, threads, norm, onnx)
            for r, c, h, w in blk.plan(width, height, side)]
    todo = [j for j in jobs if not manifest.done(j)]
    stats = BlockStats(count=len(jobs), reused=len(jobs) - len(todo), work_dir=work_dir, executor=executor)
    run = ExtractResult(device=f"CPU: {threads} thread(s) per block process", fit=fit, blocks=stats,
                        backend="onnxruntime" if params.backend == "auto" else params.backend)
    progress.info(f"{len(jobs)} block(s) of {side} px ({stats.reused} already done), executor {executor}"
                  + (f" with {workers} worker(s)" if executor == "local" else "")
                  + (f" at {scheduler}" if executor == "scheduler" else ""))
    compute = progress.sub(0, 85 if out_polygons else 95)
    t_loop = time.time()
    for done, result in enumerate(_execute(todo, executor, workers, scheduler, progress, stats), 1):
        manifest.add(result)
        stats.computed += 1
        stats.peak_rss_mib = max(stats.peak_rss_mib, result["peak_rss_mib"])
        compute.set_progress(100.0 * done / max(len(todo), 1))
    stats.compute_seconds = time.time() - t_loop - stats.startup_seconds
    run.tiles, run.tiles_skipped = manifest.tiles([j.name for j in jobs])
    _finalize(jobs, src_info=(raster, model, info, grid), outs=(out_mask, out_probability, out_polygons),
              params=params, work_dir=work_dir, progress=progress.sub(85 if out_polygons else 95, 100), run=run)
    if not keep_blocks:
        shutil.rmtree(work_dir, ignore_errors=True)
    return run.finish((out_mask, out_probability, out_polygons), t0, progress)


def _backend(raster, model, info, plan, params, work_dir, progress) -> tuple:
    """(params with the backend every block runs, the INT8 model file or None): the choice of a whole-scene run
    (inference.auto_backend, on the whole scene), made once by the driver."""
    with RasterSource(raster) as src:
        chosen, why = auto_backend(params, devices.CpuOnly(), info, src, plan)
    if chosen != "onnxruntime-int8":
        return params, None
    if chosen == params.backend:
        return params, _int8_model(raster, model, info, plan, work_dir, progress)
    onnx = auto_int8(why, lambda: _int8_model(raster, model, info, plan, work_dir, progress), progress)
    return (params, None) if onnx is None else (dataclasses.replace(params, backend=chosen), onnx)


def _int8_model(raster, model, info, plan, work_dir, progress) -> str:
    """The model's INT8 quantization calibrated once, on the whole scene, exactly as a whole-scene run calibrates
    it (inference.int8_calibration: the same tiles, the same cached file), copied into the run's folder for every
    block worker: one calibration, so a block run writes the bytes of a whole-scene run."""
    with RasterSource(raster) as src:
        key, tiles = int8_calibration(src, plan)
        torch_model, _ = modelfile.load(model)
        cached = cached_int8(model, torch_model, info, tiles(), key, plan.tile)
    path = os.path.join(work_dir, "model-int8.onnx")
    with atomic_path(path) as tmp:
        shutil.copyfile(cached, tmp)
    progress.info("INT8 model calibrated once on the whole scene, shared by every block.")
    return path


def _check_request(raster, model, outputs, executor) -> list:
    """Refusals before any work; returns the outputs asked for."""
    if executor not in EXECUTORS:
        raise BuildSegError(f"Unknown executor '{executor}': use {', '.join(EXECUTORS)}.")
    return check_outputs(raster, model, outputs)


def _cpu_threads(requested: int) -> int:
    return cpu_threads(requested)


def _execute(jobs, executor, workers, scheduler, progress, stats):
    """Yield block results as they finish."""
    if not jobs:
        return
    if executor == "inprocess":
        for job in jobs:
            progress.check()
            yield blk.run_block(job)
        return
    t0 = time.time()
    client, cluster = _dask_client(executor, workers, scheduler)
    client.wait_for_workers(1 if executor == "scheduler" else max(1, workers))
    stats.startup_seconds = time.time() - t0
    try:
        from distributed import as_completed

        futures = client.map(blk.run_block, jobs, pure=False, retries=2)
        for future in as_completed(futures):
            if progress.is_canceled():
                client.cancel(futures)
                raise Cancelled()
            yield future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def worker_python() -> str:
    """The Python interpreter for Dask workers: BUILDSEG_PYTHON, else this one when it is a Python, else the
    python3 on PATH (inside QGIS or qgis_process sys.executable is not a Python)."""
    env = os.environ.get("BUILDSEG_PYTHON")
    if env:
        return env
    if os.path.basename(sys.executable).startswith("python"):
        return sys.executable
    return shutil.which("python3") or sys.executable


def _dask_client(executor, workers, scheduler):
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise BuildSegError("Distributed extraction needs dask and distributed: pip install -r requirements.txt "
                            "(or use the in-process executor).") from None
    import multiprocessing

    # Dask's nanny sets MALLOC_TRIM_THRESHOLD_ in workers, which slows numpy-heavy blocks about 2x
    dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
                     "distributed.worker.daemon": False})
    multiprocessing.set_executable(worker_python())
    cluster = None
    if executor == "local":
        cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True,
                               dashboard_address=None, env={"OMP_WAIT_POLICY": "PASSIVE"})
        client = Client(cluster)
    else:
        if not scheduler:
            raise BuildSegError("Give the address of the Dask scheduler (tcp://host:8786).")
        try:
            client = Client(scheduler, timeout=30)
        except OSError as exc:
            raise BuildSegError(f"Cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    # the engine travels to the workers only (no install needed there). Not client.upload_file: that also
    # imports the zip on the scheduler, which for a LocalCluster is this process (QGIS), replacing the plugin.
    from distributed.diagnostics.plugin import UploadFile

    path = _package_zip()
    try:
        plugin = UploadFile(path)  # reads the zip into memory: the file is not needed after this
    finally:
        os.remove(path)
    client.register_plugin(plugin, name="buildseg-engine")
    return client, cluster


def _package_zip() -> str:
    """A zip of this plugin's Python package (the engine and its package __init__), for Dask workers."""
    pkg_dir = PLUGIN_DIR
    pkg = __name__.split(".")[0]
    path = os.path.join(tempfile.gettempdir(), f"{pkg}-engine-{os.getpid()}.zip")
    with zipfile.ZipFile(path, "w") as z:
        z.write(os.path.join(pkg_dir, "__init__.py"), f"{pkg}/__init__.py")
        for root, _, files in os.walk(os.path.join(pkg_dir, "engine")):
            for f in files:
                if f.endswith(".py"):
                    full = os.path.join(root, f)
                    z.write(full, os.path.join(pkg, os.path.relpath(full, pkg_dir)))
    return path


def _finalize(jobs, src_info, outs, params, work_dir, progress, run):
    """VRT mosaics of the blocks -> requested rasters (on the input grid) and polygons."""
    from osgeo import gdal

    raster, model, info, grid = src_info
    out_mask, out_prob, out_polygons = outs
    mosaics = {}
    for kind in ("mask", "prob"):
        vrt = os.path.join(work_dir, f"mosaic_{kind}.vrt")
        ds = gdal.BuildVRT(vrt, [j.paths()[kind] for j in jobs])
        if ds is None:
            raise BuildSegError(f"Cannot build the {kind} mosaic of {work_dir}: " + gdal.GetLastErrorMsg())
        ds = None
        mosaics[kind] = vrt

    prov = None
    if os.path.exists(raster):
        with RasterSource(raster) as src:
            prov = provenance(model, src, run.fit)
    options = ["TILED=YES", "COMPRESS=DEFLATE", "BIGTIFF=IF_SAFER"]
    finals = {"mask": out_mask or (os.path.join(work_dir, "mask.tif") if out_polygons else None),
              "prob": out_prob or (os.path.join(work_dir, "prob.tif") if out_polygons else None)}
    for kind, path in finals.items():
        if not path:
            continue
        progress.check()
        with atomic_path(path) as tmp:
            if grid is None:
                gdal.Translate(tmp, mosaics[kind], format="GTiff", creationOptions=options)
            else:  # the model ran on a warped grid: back onto the input's exact grid
                with RasterSource(raster) as src:
                    mask_args = (mosaics["mask"], tmp) if kind == "mask" else (None, None)
                    prob_args = (mosaics["prob"], tmp) if kind == "prob" else (None, None)
                    resample.back_to_input_grid(src, *mask_args, *prob_args, params.probability_uint8)
            if prov:
                tag_rasters([tmp], prov)
    if out_polygons:
        with atomic_path(out_polygons) as tmp:
            run.buildings, run.building_area_m2 = polygonize(finals["mask"], finals["prob"], tmp, info, params,
                                                             progress, provenance=prov)
