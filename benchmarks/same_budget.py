"""What BuildSeg's training buys over a minimal loop in the same wall time, on several places.

For each place, one part trains and another part tests: for the cities the default model trained on, the
train and validation cells of scripts/default_model_data.py train and the test cells (never seen by the default
model) test; Austin (never seen at all) trains on its west half and tests on its east half. At every budget,
alternating in one run with the same threads:

- BuildSeg: `qgis_process run buildseg:trainmodel` with TIME_BUDGET (fine-tuning the default model, as a user
  would with the defaults), and with FROM_SCRATCH (--scratch, the same recipe from ImageNet weights);
- baseline: benchmarks/baseline.py, a plain U-Net minimal loop given the same minutes.

At 0 minutes the default model itself is scored (where the fine-tune starts). Each model is measured by
BuildSeg's own extraction on the test part (building IoU, F1, building-level F1).
Rows are appended to --csv as they come, so a long run can be read (and resumed) part way.

    python benchmarks/same_budget.py [--minutes 0 5 15 30] [--places austin kampala nairobi rio] [--threads 2]
        [--param AUGMENT=false ...] [--no-baseline] [--far FOLDER] [--side-by-side]

--far FOLDER runs on the far places of benchmarks/far_places.py instead (made in FOLDER when missing; default
places: all four): imagery the shipped model never trained on, scored against the true outlines; the baseline
there is issue 41's minimal loop (a 16-channel U-Net, cross-entropy + Dice, trained at the imagery's own
resolution).
--side-by-side runs BuildSeg's fine-tune and the baseline at the same time, one process each (give --threads 1
on a 2-core machine), instead of one after the other.

Each BuildSeg model's epoch history (validation IoU, loss, learning rate) is written beside it as MODEL.csv.
"""

import argparse
import csv
import json
import os
import subprocess  # nosec B404 - fixed commands
import sys
import tempfile
import time

import numpy as np
from accuracy import CITIES, reproject, score, test_areas
from common import DEFAULT_MODEL, ROOT, import_plugin

import_plugin()
FIELDS = ["place", "minutes", "method", "building_iou", "f1", "building_f1", "seconds", "threads"]


def parts(place: str, work: str, split_dir: str) -> tuple:
    """(image, train area GeoJSONs, test area GeoJSONs) in the image's CRS."""
    import rasterio
    from osgeo import ogr

    from buildseg.engine.evaluation.evaluate import box

    image = str(CITIES / place / "image.tif")
    with rasterio.open(image) as src:
        crs, b = src.crs.to_wkt(), src.bounds
    if place == "austin":  # evaluation-only: west half trains, east half tests
        mid = (b.left + b.right) / 2
        return image, [box(b.left, b.bottom, mid, b.top)], [box(mid, b.bottom, b.right, b.top)]
    ds = ogr.Open(os.path.join(split_dir, "labels.gpkg"))
    out = []
    for layer in ("trainval_area", "test_area"):
        lyr = ds.GetLayerByName(layer)
        geoms = [json.loads(f.GetGeometryRef().ExportToJson()) for f in lyr if f["place"] == place]
        out.append(reproject(geoms, "EPSG:4326", crs))
    return image, out[0], out[1]


def far_parts(place: str, folder: str) -> tuple:
    """(image, train areas, test areas, training labels, true outlines) of a far place."""
    from far_places import place as far_place
    from far_places import prepare

    p = far_place(prepare(folder, [place])[place])
    return p["image"], p["train"], p["test"], p["labels"], p["truth"]


def write_area(geoms, crs_wkt: str, path: str) -> str:
    from osgeo import ogr, osr

    srs = osr.SpatialReference(wkt=crs_wkt)
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    lyr = ds.CreateLayer("area", srs, ogr.wkbMultiPolygon)
    for g in geoms:
        f = ogr.Feature(lyr.GetLayerDefn())
        f.SetGeometry(ogr.ForceToMultiPolygon(ogr.CreateGeometryFromJson(json.dumps(g))))
        lyr.CreateFeature(f)
    ds = None
    return path


def label_raster(image: str, area, path: str, labels: str) -> str:
    """0 background / 1 building inside the training part, 255 elsewhere, on the image's grid (baseline)."""
    import rasterio
    from rasterio.features import rasterize

    from buildseg.engine.evaluation.evaluate import polygons_from_file

    with rasterio.open(image) as src:
        profile = dict(driver="GTiff", width=src.width, height=src.height, count=1, dtype="uint8",
                       crs=src.crs, transform=src.transform, compress="deflate")
        shapes = [g for g, _ in polygons_from_file(labels, src.crs.to_wkt())]
        inside = rasterize([(g, 1) for g in area], (src.height, src.width), transform=src.transform)
        lab = rasterize([(g, 1) for g in shapes], (src.height, src.width), transform=src.transform)
    out = np.where(inside == 1, lab, 255).astype(np.uint8)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(out, 1)
    return path


def buildseg_command(image, labels, area_path, minutes, threads, out, scratch, extra=()):
    """trainmodel with the defaults (and `extra` KEY=VALUE parameters, which replace these: SEED=1...); its epoch
    history goes to out + .csv."""
    env = dict(os.environ, BUILDSEG_THREADS=str(threads), QT_QPA_PLATFORM="offscreen")
    params = {"INPUT": image, "LABELS": labels, "LABELLED_AREA": area_path, "TIME_BUDGET": minutes,
              "RESUME": "false", "SEED": 0, "OUTPUT_MODEL": out, "OUTPUT_METRICS": f"{out}.csv"}
    if scratch:
        params.update(FROM_SCRATCH="true", ARCHITECTURE=14)  # unet-efficientnet-lite0 from ImageNet weights
    params.update(kv.split("=", 1) for kv in extra)
    args = [str(ROOT / "scripts" / "qgis_process"), "run", "buildseg:trainmodel", "--",
            *(f"{k}={v}" for k, v in params.items())]
    return args, env


def run_all(commands: list, side_by_side: bool) -> list:
    """Run [(args, env)] one after the other, or all at once; returns each one's seconds."""
    if not side_by_side:
        out = []
        for args, env in commands:
            t0 = time.time()
            subprocess.run(args, check=True, env=env, capture_output=True)  # nosec B603
            out.append(time.time() - t0)
        return out
    t0 = time.time()
    procs = [subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # nosec B603
             for args, env in commands]
    out = []
    for p in procs:
        err = p.communicate()[1]
        if p.returncode:
            raise RuntimeError(err.decode(errors="replace")[-2000:])
        out.append(time.time() - t0)
    return out


def baseline_command(image, label_path, minutes, threads, out, minimal16=False) -> list:
    """baseline.py; `minimal16`: issue 41's minimal loop (16-channel U-Net, cross-entropy + Dice)."""
    return [sys.executable, str(ROOT / "benchmarks" / "baseline.py"), "--seconds", str(minutes * 60),
            "--out", out, "--pair", image, label_path, "--threads", str(threads)] + \
        (["--base", "16", "--dice"] if minimal16 else [])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, nargs="+", default=[5, 15, 30])
    ap.add_argument("--places", nargs="+", default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--scratch", action="store_true", help="also train BuildSeg's recipe from ImageNet weights")
    ap.add_argument("--csv", default="same_budget.csv")
    ap.add_argument("--param", nargs="+", default=[], metavar="KEY=VALUE",
                    help="a recipe variant: extra trainmodel parameters for BuildSeg's runs (named in the method)")
    ap.add_argument("--no-baseline", action="store_true", help="BuildSeg's runs only")
    ap.add_argument("--far", metavar="FOLDER", help="the far places of far_places.py, made in FOLDER")
    ap.add_argument("--side-by-side", action="store_true", help="the methods of a place and budget run at once")
    ap.add_argument("--work", help="folder for the models (default: a new temporary folder)")
    args = ap.parse_args()
    from far_places import PLACES as FAR

    places = args.places or (FAR if args.far else ["austin", "kampala", "nairobi", "rio"])
    work = args.work or tempfile.mkdtemp(prefix="buildseg-budget-")
    os.makedirs(work, exist_ok=True)
    split = None if args.far else (test_areas(work) and os.path.join(work, "split"))
    done = set()
    if os.path.exists(args.csv):
        done = {(r["place"], float(r["minutes"]), r["method"]) for r in csv.DictReader(open(args.csv))}
    else:
        with open(args.csv, "w", newline="") as f:
            csv.writer(f).writerow(FIELDS)
    variant = f" [{' '.join(args.param)}]" if args.param else ""
    methods = [f"buildseg fine-tune{variant}"] + ([] if args.no_baseline else ["baseline"]) + \
        ([f"buildseg from ImageNet{variant}"] if args.scratch else [])
    print(f"machine: {os.cpu_count()} cores, {args.threads} threads per run"
          f"{', methods side by side' if args.side_by_side else ''}; default model {DEFAULT_MODEL.name}")
    for minutes in args.minutes:
        for place in places:
            todo = [m for m in (["default model, no training"] if minutes == 0 else methods)
                    if (place, minutes, m) not in done]
            if todo:
                measure(place, minutes, todo, methods, args, work, split)


def measure(place, minutes, todo, methods, args, work, split) -> None:
    """Train each method in `todo` on the place's training part for `minutes`, score it on the test part and
    append its row to the CSV."""
    import rasterio

    from buildseg.engine.extract.inference import ExtractParams

    if args.far:
        image, train, test, labels, truth = far_parts(place, args.far)
    else:
        image, train, test = parts(place, work, split)
        labels = truth = str(CITIES / place / "buildings.gpkg")
    with rasterio.open(image) as src:
        crs = src.crs.to_wkt()
    area_path = write_area(train, crs, os.path.join(work, f"{place}-train.gpkg"))
    outs, commands = {}, []
    for method in todo:
        # at 0 minutes the default model itself: where the fine-tune starts
        outs[method] = os.path.join(work, f"{place}-{minutes:g}-{methods.index(method)}.safetensors") \
            if minutes else str(DEFAULT_MODEL)
        if minutes and method == "baseline":
            lab = label_raster(image, train, os.path.join(work, f"{place}-labels.tif"), labels)
            commands.append((baseline_command(image, lab, minutes, args.threads, outs[method], bool(args.far)),
                             None))
        elif minutes:
            commands.append(buildseg_command(image, labels, area_path, minutes, args.threads, outs[method],
                                             method.startswith("buildseg from"), args.param))
    seconds = run_all(commands, args.side_by_side) if commands else [0.0]
    for method, sec in zip(todo, seconds * (len(todo) if not commands else 1)):
        m = score(outs[method], (place, "test", image, truth, test), ExtractParams(aoi=test), work)
        row = [place, minutes, method, f"{m['pixel_iou']:.3f}", f"{m['pixel_f1']:.3f}", f"{m['object_f1']:.3f}",
               f"{sec:.0f}", args.threads]
        print(" | ".join(map(str, row)), flush=True)
        with open(args.csv, "a", newline="") as f:
            csv.writer(f).writerow(row)


if __name__ == "__main__":
    main()
