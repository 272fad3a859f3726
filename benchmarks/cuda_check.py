"""The engine's CUDA paths on a GPU machine, each measured against that machine's own CPU in the same run.

1. Extraction of the bundled model over a synthetic scene at the model's 0.3 m (mask and probability): CPU
   (ONNX Runtime, every core) against CUDA (PyTorch, fp16 autocast) at its default batch and at batch 8, in
   input MP/s, with the agreement of the two masks (building IoU) and the bare CUDA forward pass in tiles/s.
   Grad-CAM on both devices (seconds, and the correlation of the two maps).
2. Training: a fine-tune of the bundled model with a time budget on real city tiles (the default model's
   recipe: 256 px tiles, batch 8, sensor augmentation, separation gaps), on CUDA and on the CPU, in tiles/s,
   with the validation IoU of the start and of the model written.
3. The torchrun (DDP, NCCL) entry point on one GPU: one short epoch, the model file written.

Prepare the data on a machine with GDAL (the rasters of scripts/default_model_data.py at 0.3 m, labels in
each raster's CRS), then run the check where the GPU is:

    python benchmarks/cuda_check.py --prepare .devcheck [--source /tmp/buildseg-default-model/data]
    python benchmarks/cuda_check.py --data .devcheck [--out DIR] [--size 8192] [--minutes 1.5]

GDAL's own Python bindings have no wheel; where they are missing (the GPU machine has rasterio only), the two
GDAL calls these paths make (the cache size, a metadata item on a written GeoTIFF) go through rasterio, whose
wheel bundles GDAL. Polygons (OGR) are therefore not written here: they are CPU work on either device.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
from common import DEFAULT_MODEL, import_plugin, synthetic_scene

PLACES = ["nairobi", "kampala", "banepa", "rio-south", "catanduanes"]
TRAIN_PARAMS = {"tile_size": 256, "batch_size": 8, "tiles_per_epoch": 256, "sensor_augment": True}
GDAL_SHIM = '''"""GDAL through rasterio (benchmarks/cuda_check.py): only the calls extraction and training make."""
import rasterio

GA_ReadOnly, GA_Update = 0, 1


def SetCacheMax(nbytes):
    pass


def GetLastErrorMsg():
    return ""


class _Dataset:
    def __init__(self, path):
        self.path = path

    def SetMetadataItem(self, key, value):
        with rasterio.open(self.path, "r+") as ds:
            ds.update_tags(**{key: value})


def Open(path, mode=GA_ReadOnly):
    return _Dataset(path)
'''


def gdal_fallback(work: str) -> str:
    """A folder holding an `osgeo` package of the shim (put on sys.path and children's PYTHONPATH), or ''
    when GDAL's bindings are installed."""
    try:
        from osgeo import gdal  # noqa: F401

        return ""
    except ImportError:
        pkg = os.path.join(work, "gdal_shim", "osgeo")
        os.makedirs(pkg, exist_ok=True)
        open(os.path.join(pkg, "__init__.py"), "w").close()
        with open(os.path.join(pkg, "gdal.py"), "w") as f:
            f.write(GDAL_SHIM)
        sys.path.insert(0, os.path.dirname(pkg))
        print("GDAL's Python bindings are missing: its two calls go through rasterio (no polygons).")
        return os.path.dirname(pkg)


def prepare(out: str, source: str, places) -> None:
    """Copy the rasters of `places` and write run.json: their buildings and labelled area in each raster's CRS
    (a torchrun configuration of engine.scaleout.train_cli, paths relative to `out`)."""
    import rasterio
    from osgeo import ogr, osr
    from rasterio.warp import transform_bounds

    os.makedirs(out, exist_ok=True)
    labels = ogr.Open(os.path.join(source, "labels.gpkg"))
    scenes = []
    for place in places:
        raster = os.path.join(source, place + ".tif")
        shutil.copy(raster, os.path.join(out, place + ".tif"))
        with rasterio.open(raster) as ds:
            dst = osr.SpatialReference()
            dst.ImportFromWkt(ds.crs.to_wkt())
            box = transform_bounds(ds.crs, "EPSG:4326", *ds.bounds)
        entry = {}
        for layer_name in ("buildings", "trainval_area"):
            layer = labels.GetLayerByName(layer_name)
            src = layer.GetSpatialRef()
            src.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
            dst.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
            tr = osr.CoordinateTransformation(src, dst)
            layer.SetSpatialFilterRect(*box)
            geoms = []
            for f in layer:
                g = f.GetGeometryRef().Clone()
                g.Transform(tr)
                geoms.append(json.loads(g.ExportToJson()))
            entry[layer_name] = geoms
        scenes.append({"raster": place + ".tif", "role": "train",
                       "labels": {"shapes": [[g, 1] for g in entry["buildings"]], "area": entry["trainval_area"],
                                  "gap_px": 2}})
        print(f"{place}: {len(entry['buildings'])} buildings")
    with open(os.path.join(out, "run.json"), "w") as f:
        json.dump({"scenes": scenes, "params": TRAIN_PARAMS, "resolution": 0.3}, f)


def _scenes(data: str):
    from buildseg.engine.scaleout.train_cli import scene_from

    with open(os.path.join(data, "run.json")) as f:
        cfg = json.load(f)
    for e in cfg["scenes"]:
        e["raster"] = os.path.join(os.path.abspath(data), e["raster"])
    return cfg, [scene_from(e) for e in cfg["scenes"]]


def extraction(work: str, size: int, dev: str, figures: dict) -> None:
    import rasterio
    import torch

    from buildseg.engine.extract.inference import ExtractParams, extract
    from buildseg.engine.extract.predict import TorchPredictor
    from buildseg.engine.models import modelfile

    scene = synthetic_scene(os.path.join(work, f"scene{size}.tif"), size, res=0.3)
    small = synthetic_scene(os.path.join(work, "scene1024.tif"), 1024, res=0.3)
    mp = size ** 2 / 1e6
    masks = {}
    for device, batch in ((dev, 0), (dev, 8), ("cpu", 0)):
        params = ExtractParams(device=device, batch_size=batch)
        extract(small, str(DEFAULT_MODEL), out_probability=os.path.join(work, "warm.tif"), params=params)
        t0 = time.perf_counter()
        result = extract(scene, str(DEFAULT_MODEL), os.path.join(work, f"m-{device}{batch}.tif"),
                         os.path.join(work, f"p-{device}{batch}.tif"), params=params)
        dt = time.perf_counter() - t0
        key = f"extract_{device}" + (f"_batch{batch}" if batch else "")
        figures[key] = {"seconds": round(dt, 2), "mp_per_s": round(mp / dt, 2), "device": result.device,
                        "backend": result.backend, "tiles": result.tiles}
        print(f"extraction {device} {result.backend} batch {batch or 'default'}: {dt:.1f} s, {mp / dt:.2f} MP/s "
              f"({result.device})", flush=True)
        with rasterio.open(os.path.join(work, f"m-{device}{batch}.tif")) as ds:
            masks[key] = ds.read(1) == 1
    cpu, gpu = masks["extract_cpu"], masks[f"extract_{dev}"]
    figures["cuda_vs_cpu_mask_iou"] = round(float((cpu & gpu).sum() / max(1, (cpu | gpu).sum())), 4)
    speed = figures["extract_cpu"]["seconds"] / figures[f"extract_{dev}"]["seconds"]
    figures["cuda_over_cpu"] = round(speed, 2)
    print(f"building mask IoU, {dev} against CPU: {figures['cuda_vs_cpu_mask_iou']}; {speed:.2f}x faster")
    model, info = modelfile.load(str(DEFAULT_MODEL))
    predictor = TorchPredictor(model.eval(), torch.device(dev))
    for batch in (8, 32):
        x = np.random.default_rng(0).normal(size=(batch, 3, 256, 256)).astype(np.float32)
        predictor(x)
        t0, n = time.perf_counter(), 0
        while time.perf_counter() - t0 < 3:
            predictor(x)
            n += batch
        rate = n / (time.perf_counter() - t0)
        figures[f"forward_{dev}_batch{batch}_tiles_per_s"] = round(rate, 1)
        print(f"bare {dev} forward (torch), batch {batch}: {rate:.0f} tiles/s of 256 px "
              f"({rate * 256 * 256 / 1e6:.0f} MP/s)")


def gradcam(work: str, dev: str, figures: dict) -> None:
    """Grad-CAM on CUDA and on the CPU over the same 1024 px scene: seconds, and how alike the two maps are."""
    import rasterio

    from buildseg.engine.explain.heatmap import HeatmapParams, export_heatmap

    scene = synthetic_scene(os.path.join(work, "scene1024.tif"), 1024, res=0.3)
    maps = {}
    for device in ("cpu", dev):
        out = os.path.join(work, f"gradcam-{device}.tif")
        t0 = time.perf_counter()
        export_heatmap(scene, str(DEFAULT_MODEL), out, HeatmapParams(mode="gradcam", device=device))
        figures[f"gradcam_{device}_seconds"] = round(time.perf_counter() - t0, 2)
        with rasterio.open(out) as ds:
            maps[device] = ds.read(1).ravel()
    figures["gradcam_correlation"] = round(float(np.corrcoef(maps["cpu"], maps[dev])[0, 1]), 4)
    print(f"Grad-CAM: CPU {figures['gradcam_cpu_seconds']} s, {dev} {figures[f'gradcam_{dev}_seconds']} s, "
          f"correlation {figures['gradcam_correlation']}")


def training(data: str, work: str, device: str, minutes: float, figures: dict) -> None:
    from buildseg.engine.core.progress import PrintProgress
    from buildseg.engine.models import modelfile
    from buildseg.engine.train.loop import TrainParams, train

    cfg, scenes = _scenes(data)
    params = TrainParams(**{**cfg["params"], "device": device, "time_budget": minutes,
                            "init_model": str(DEFAULT_MODEL)})
    out = os.path.join(work, f"fine-tune-{device}.safetensors")
    result = train(scenes, out, params, PrintProgress(), resolution=cfg["resolution"])
    t = modelfile.read_info(out).training
    rate = t["steps"] * params.batch_size / t["training_seconds"]
    figures[f"train_{device}"] = {"tiles_per_s": round(rate, 2), "steps": t["steps"], "minutes": minutes,
                                  "training_seconds": t["training_seconds"], "epochs": result.epochs_run,
                                  "kept_epoch": result.best_epoch, "validation": result.best_metrics.get("iou"),
                                  "device": t["device"]}
    print(f"training {device}: {rate:.1f} tiles/s ({t['steps']} steps of {params.batch_size} in "
          f"{t['training_seconds']} s), kept epoch {result.best_epoch}", flush=True)


def torchrun(data: str, work: str, paths: list, dev: str, figures: dict) -> None:
    """`paths`: the folders a child process needs on PYTHONPATH (the plugin's, the GDAL shim's)."""
    from common import ROOT

    from buildseg.engine.scaleout.train_cli import write_config

    cfg, _ = _scenes(data)
    out = os.path.join(work, "torchrun.safetensors")
    cfg.update(out_model=out, params={**cfg["params"], "epochs": 1, "tiles_per_epoch": 64, "device": dev,
                                     "init_model": str(DEFAULT_MODEL)})
    path = write_config(os.path.join(work, "torchrun.json"), cfg)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (*paths, os.environ.get("PYTHONPATH")) if p))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=1",
                           "-m", "buildseg.engine.scaleout.train_cli", path], env=env, cwd=str(ROOT))
    figures["torchrun"] = {"exit": proc.returncode, "model_written": os.path.exists(out),
                           "seconds": round(time.perf_counter() - t0, 1)}
    print(f"torchrun, one process on {dev}: exit {proc.returncode}, model written: {os.path.exists(out)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prepare", help="write the training data and run.json into this folder, then stop")
    ap.add_argument("--source", default="/tmp/buildseg-default-model/data",
                    help="the rasters and labels.gpkg of scripts/default_model_data.py")
    ap.add_argument("--data", default=".devcheck")
    ap.add_argument("--out", default=None, help="folder for figures.json (default: a temporary folder)")
    ap.add_argument("--size", type=int, default=8192)
    ap.add_argument("--minutes", type=float, default=1.5, help="training budget on CUDA (the CPU gets 1 min)")
    ap.add_argument("--device", default="cuda", help="cpu: a rehearsal of the same steps on a machine without GPU")
    args = ap.parse_args()
    if args.prepare:
        prepare(args.prepare, args.source, PLACES)
        return
    work = tempfile.mkdtemp(prefix="buildseg-cuda-")
    shim = gdal_fallback(work)
    plugin_path = import_plugin()
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("No CUDA GPU here: this check runs where one is.")
    dev = args.device
    figures = {"torch": torch.__version__, "cpu_cores": os.cpu_count(),
               "gpu": torch.cuda.get_device_name(0) if dev == "cuda" else None}
    steps = [("extraction", lambda: extraction(work, args.size, dev, figures)),
             ("gradcam", lambda: gradcam(work, dev, figures)),
             ("training", lambda: training(args.data, work, dev, args.minutes, figures)),
             ("training cpu", lambda: training(args.data, work, "cpu", 1.0, figures) if dev != "cpu" else None),
             ("torchrun", lambda: torchrun(args.data, work, [plugin_path, shim], dev, figures))]
    for name, step in steps:  # each step reports even when an earlier one failed
        try:
            step()
        except Exception as exc:
            import traceback

            traceback.print_exc()
            figures[f"{name} failed"] = repr(exc)
    if "train_cuda" in figures and "train_cpu" in figures:
        ratio = figures["train_cuda"]["tiles_per_s"] / figures["train_cpu"]["tiles_per_s"]
        figures["train_cuda_over_cpu"] = round(ratio, 2)
    print(json.dumps(figures, indent=1))
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "figures.json"), "w") as f:
            json.dump(figures, f, indent=1)


if __name__ == "__main__":
    main()
