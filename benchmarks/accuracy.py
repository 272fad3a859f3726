"""Accuracy of the default model, new and previous side by side, on places it never trained on.

For every place of ../shared/data/cities marked "train" in index.csv, only its test cells count (a quarter of
the place in 150 m cells, never trained on: scripts/default_model_data.py defines them); Austin (evaluation
only), the SpaceNet and Massachusetts clips and Dubai Tile 8 are places the default model never saw at all.
Each image is run through BuildSeg's own extraction at its native resolution and CRS (the model resamples as
a user's run would). Per place: pixel IoU and F1 of the building class, and building-level F1 (one-to-one
matches at IoU >= 0.5; buildings touching the evaluated area).

    python benchmarks/accuracy.py [--model NEW|auto] [--previous OLD | --previous-rev GIT_REV] [--backend auto]
        [--tta none] [--scene-colours] [--far FOLDER]

Two means lead, as issue 42 asks: over cities the model never trained on at all (Austin and the SpaceNet and
Massachusetts clips; with `--far FOLDER` also the test parts of the far places of far_places.py, made in FOLDER:
Austin at 0.6 m in another sensor's colours, Dubai Tile 8 at 1 m, Atlanta panchromatic), and over held-out test
cells of the places it trained on (ground it never saw, in cities it did: the easier figure). Dubai Tile 8 as
shipped (block labels) has a mean of its own.

`--model auto` runs, on each image, the bundled model that extraction chooses for it by its ground resolution
with MODEL=auto (engine/models/choice.py), as a user's run would.
"""

import argparse
import csv
import glob
import json
import os
import subprocess  # nosec B404 - fixed git command
import sys
import tempfile
import time
from dataclasses import replace

import numpy as np
from common import DATA, DEFAULT_MODEL, ROOT, import_plugin

import_plugin()

CITIES = DATA / "cities"
FIXTURES = [
    ("atlanta (SpaceNet 4, 0.5 m)", "gdl-spacenet/SN4_buildings_train_AOI_6_Atlanta_nadir10_catid_1030010003993E00_PS"
     "-RGB_732701_3729639_clipped.tif", "gdl-spacenet/SN4_buildings_train_AOI_6_Atlanta_geojson_buildings_732701_37"
     "29639.geojson"),
    ("las-vegas (SpaceNet 2, 0.3 m)", "gdl-spacenet/SpaceNet_AOI_2_Las_Vegas-056155973080_01_P001-WV03-RGB.tif",
     "gdl-spacenet/SpaceNet_AOI_2_Las_Vegas-056155973080_01_P001-WV03.gpkg"),
    ("massachusetts (1 m)", "gdl-massachusetts/22978945_15_uint8_clipped.tif", "gdl-massachusetts/22978945_15.gpkg"),
]
# the last commit that shipped the default model this one replaces (trained with windows off the labelled area);
# 3079117 is the last that shipped the Dubai-only model before it
PREVIOUS_REV = "4d7d059"


def test_areas(work: str, layer: str = "test_area") -> dict:
    """place -> [GeoJSON test cells in EPSG:4326] (the split the default model was trained with); `layer`
    "val_area" gives the validation cells instead."""
    out = os.path.join(work, "split")
    if not os.path.exists(os.path.join(out, "labels.gpkg")):
        subprocess.run(["/usr/bin/python3", str(ROOT / "scripts" / "default_model_data.py"), out, "--areas-only"],
                       check=True, capture_output=True)  # nosec B603
    from osgeo import ogr

    areas = {}
    ds = ogr.Open(os.path.join(out, "labels.gpkg"))  # keep the dataset alive while its layer is read
    layer = ds.GetLayerByName(layer)
    for f in layer:
        areas.setdefault(f["place"], []).append(json.loads(f.GetGeometryRef().ExportToJson()))
    return areas


def reproject(geoms, src, dst):
    from rasterio.warp import transform_geom

    return [transform_geom(src, dst, g) for g in geoms]


def validation_places(work: str) -> list:
    """The validation cells of the default model's training places (places() entries): ground to choose
    settings on, so that the test cells stay unseen."""
    return [(name, "validation cells", *rest) for name, kind, *rest in places(work, "val_area")
            if kind == "test cells"]


def places(work: str, cells: str = "test_area", held_out=()) -> list:
    """[(name, set, image, reference polygons path or class raster, evaluated area in the image CRS or None)].
    `held_out`: "train" places the model was trained without (default_model_data.py --hold-out), measured as
    unseen cities on their whole labelled area."""
    import rasterio

    rows = list(csv.DictReader(open(CITIES / "index.csv")))
    areas = test_areas(work, cells) if any(r["use"] == "train" for r in rows) else {}
    out = []
    for r in rows:
        image = str(CITIES / r["place"] / "image.tif")
        with rasterio.open(image) as src:
            crs = src.crs.to_wkt()
        if r["place"] in held_out:
            out.append((r["place"], "unseen city", image, str(CITIES / r["place"] / "buildings.gpkg"),
                        labelled_area(CITIES / r["place"] / "labelled_area.gpkg", crs)))
        elif r["use"] == "train":
            if r["place"] not in areas:
                continue  # too small to hold a test cell
            out.append((r["place"], "test cells", image, str(CITIES / r["place"] / "buildings.gpkg"),
                        reproject(areas[r["place"]], "EPSG:4326", crs)))
        else:
            out.append((r["place"], "unseen city", image, str(CITIES / r["place"] / "buildings.gpkg"), None))
    for name, image, ref in FIXTURES:
        out.append((name, "unseen city", str(DATA / "fixtures" / image), str(DATA / "fixtures" / ref), None))
    for path in sorted(glob.glob(str(DATA / "dubai" / "scenes" / "tile8_part[0-9].tif"))):
        out.append((f"dubai {os.path.basename(path)[:-4]}", "dubai tile 8 (block labels)", path,
                    path[:-4] + "_classes.tif", None))
    return out


def labelled_area(path, crs: str) -> list:
    """The polygons of a place's labelled-area file as GeoJSON in `crs`."""
    from buildseg.engine.evaluation.evaluate import polygons_from_file

    return [g for g, _ in polygons_from_file(str(path), crs)]


def far_places(folder: str) -> list:
    """The test parts of the far places (far_places.py) as places of this script: cities the model never saw."""
    from far_places import PLACES
    from same_budget import far_parts

    out = []
    for name in PLACES:
        image, _, test, _, truth = far_parts(name, folder)
        out.append((f"far: {name}", "unseen city (derived)", image, truth, test))
    return out


GROUPS = {"unseen city": "mean over cities it never trained on", "unseen city (derived)": "mean over far places "
          "(derived from unseen cities: other sensor, resolution, colours)", "test cells": "mean over held-out cells "
          "of places it trained on", "validation cells": "mean over validation cells",
          "dubai tile 8 (block labels)": "mean over Dubai Tile 8"}


def score(model, place, params, work):
    """Metrics of `model` on one place: the building polygons a user gets, against the reference. Where the
    place is an area (test cells), extraction is given it as its area of interest, so predicted buildings are cut
    at its edge as the reference is (uncut, a building crossing the edge could never match its reference)."""
    from buildseg.engine.extract.inference import extract

    if place[4] and params.aoi is None:
        params = replace(params, aoi=place[4])
    stem = os.path.join(work, f"{abs(hash((model, place[2])))}")
    extract(place[2], model, out_mask=stem + ".tif", out_polygons=stem + ".gpkg", params=params)
    return judge(stem + ".gpkg", stem + ".tif", place)


def judge(polygons: str, mask: str, place) -> dict:
    """Metrics of the building polygons file `polygons` (extracted on the grid of `mask`) on one place."""
    import rasterio

    from buildseg.engine.evaluation.evaluate import EvalParams, evaluate, polygons_from_file, raster_extent

    _, _, _, ref, area = place
    with rasterio.open(mask) as m:
        crs, pixel = m.crs.to_wkt(), abs(m.transform.a)
    pred = [g for g, _ in polygons_from_file(polygons, crs)]
    if ref.endswith("_classes.tif"):  # Dubai: class 1 building, 0 unlabelled
        return evaluate(pred_shapes=pred, ref_raster=ref, params=EvalParams(ref_ignore=(0,)))
    shapes = [g for g, _ in polygons_from_file(ref, crs)]
    # only the ground extracted counts (the image, or its test cells): the reference files of the clips cover
    # far more than the clip, and a reference building cut by the edge is judged by its part inside
    area = area or [raster_extent(mask)]
    return evaluate(pred_shapes=pred, ref_shapes=shapes, aoi=area, crs_wkt=crs,
                    params=EvalParams(pixel_size=pixel))  # pixel metrics on the image's own grid


# Dubai Tile 8 as one set (summed confusion), for the scripts that compare training recipes on it
# (same_budget.py, weak_supervision.py, extract_throughput.py)
def dubai_test_pairs():
    """(name, image, class raster) of the nine Dubai Tile 8 images."""
    dubai = sorted(glob.glob(str(DATA / "dubai" / "scenes" / "tile8_part[0-9].tif")))
    return [(os.path.basename(p)[:-4], p, p[:-4] + "_classes.tif") for p in dubai]


def evaluate_set(pairs, model, params, work):
    """[(name, raster, reference)] -> (summed confusion, [(name, iou)], seconds)."""
    import rasterio

    from buildseg.engine.evaluation.evaluate import (
        EvalParams,
        binary_confusion,
        evaluate,
        polygons_from_file,
        reference_from_polygons,
    )
    from buildseg.engine.evaluation.metrics import scores
    from buildseg.engine.extract.inference import extract
    from buildseg.engine.io.labels import IGNORE

    total = np.zeros((2, 2), np.int64)
    objects = np.zeros(3, np.int64)  # TP, FP, FN at IoU >= 0.5
    rows, t0 = [], time.perf_counter()
    for name, raster, ref in pairs:
        mask = os.path.join(work, f"{abs(hash(raster))}.tif")
        extract(raster, model, out_mask=mask, params=params)
        if ref.endswith("_classes.tif"):  # Dubai class ids: 0 is unlabelled (ignored), 1 building
            with rasterio.open(ref) as r:
                cls = r.read(1)
            reference = np.where(cls == 0, IGNORE, cls == 1).astype(np.uint8)
        else:
            with rasterio.open(mask) as m:
                reference = reference_from_polygons(polygons_from_file(ref, m.crs.to_wkt()), m)
        cm = binary_confusion(mask, reference)
        if ref.endswith("_classes.tif"):
            m = evaluate(pred_raster=mask, ref_raster=ref, params=EvalParams(ref_ignore=(0,)))
        else:
            with rasterio.open(mask) as mk:
                m = evaluate(pred_raster=mask, ref_shapes=[g for g, _ in polygons_from_file(ref, mk.crs.to_wkt())])
        objects += [m["object_tp"], m["object_fp"], m["object_fn"]]
        total += cm
        rows.append((name, scores(cm)["iou"][1]))
    return (total, objects), rows, time.perf_counter() - t0


def previous_model(rev: str, work: str) -> str:
    path = os.path.join(work, "previous.safetensors")
    blob = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:resources/models/buildings-default.safetensors"],
                          check=True, capture_output=True).stdout  # nosec B603 B607
    with open(path, "wb") as f:
        f.write(blob)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--previous", default=None)
    ap.add_argument("--previous-rev", default=PREVIOUS_REV)
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--tta", default="none", help="test-time augmentation of both models: none, flips, d4")
    ap.add_argument("--scene-colours", action="store_true",
                    help="both models standardise each band by the scene's own statistics (SCENE_COLOURS)")
    ap.add_argument("--only", default="", help="semicolon-separated place names (default: all)")
    ap.add_argument("--far", metavar="FOLDER", help="add the far places of far_places.py, made in FOLDER")
    ap.add_argument("--held-out", nargs="+", default=[], metavar="PLACE",
                    help="\"train\" places the new model was trained without (train_default_model.sh HOLD_OUT): "
                         "measured as unseen cities on their whole labelled area")
    ap.add_argument("--reuse-stored", action="store_true",
                    help="take each model's figures from its metadata where it holds them (written by "
                         "scripts/ship_model.py with this script's score()) instead of measuring them again")
    args = ap.parse_args()
    if args.reuse_stored and (args.scene_colours or args.tta != "none"):
        ap.error("--reuse-stored gives the figures of the default extraction: leave out --tta and --scene-colours")
    from buildseg.engine.extract.inference import ExtractParams
    from buildseg.engine.models import modelfile
    from buildseg.engine.models.choice import for_raster

    work = tempfile.mkdtemp(prefix="buildseg-accuracy-")
    old = args.previous or previous_model(args.previous_rev, work)
    models = {"new": args.model, "previous": old}
    for label, path in models.items():
        if path == "auto":
            print(f"{label}: the bundled model chosen by each image's ground resolution")
            continue
        info = modelfile.read_info(path)
        rasters = info.training.get("rasters", [])
        print(f"{label}: {path}\n  {info.summary()}\n  trained on {len(rasters)} raster(s): "
              f"{', '.join(rasters[:10])}{' …' if len(rasters) > 10 else ''}")
    params = ExtractParams(backend=args.backend, tta=args.tta, scene_colours=args.scene_colours)
    selected = [p for p in places(work, held_out=args.held_out) + (far_places(args.far) if args.far else [])
                if not args.only or p[0] in args.only.split(";")]
    results = {}
    for place in selected:
        for label, path in models.items():
            t0 = time.perf_counter()
            if path == "auto":
                path, why = for_raster(place[2], str(DEFAULT_MODEL))
                print(f"  {place[0]:<32} {label:<9} {why}", file=sys.stderr, flush=True)
            stored = modelfile.read_info(path).metrics.get("test", {}).get("per_place", {}) if args.reuse_stored \
                else {}
            if place[0] in stored:
                s = stored[place[0]]
                results[(place[0], label)] = {"pixel_iou": s["building_iou"], "pixel_f1": s["f1"],
                                              "object_f1": s["building_f1_iou50"], "count_reference": "stored"}
                continue
            results[(place[0], label)] = m = score(path, place, params, work)
            print(f"  {place[0]:<32} {label:<9} IoU {m['pixel_iou']:.3f} F1 {m['pixel_f1']:.3f} building F1 "
                  f"{m['object_f1']:.3f} ({m['count_reference']} reference buildings, "
                  f"{time.perf_counter() - t0:.0f} s)",
                  file=sys.stderr, flush=True)
    print("\n| place | evaluated on | new IoU | new F1 | new building F1 | previous IoU | previous F1 | "
          "previous building F1 |\n|---|---|---|---|---|---|---|---|")
    groups = {}
    for name, kind, *_ in selected:
        n, o = results[(name, "new")], results[(name, "previous")]
        print(f"| {name} | {kind} | {n['pixel_iou']:.3f} | {n['pixel_f1']:.3f} | {n['object_f1']:.3f} | "
              f"{o['pixel_iou']:.3f} | {o['pixel_f1']:.3f} | {o['object_f1']:.3f} |")
        groups.setdefault(GROUPS[kind], []).append(name)
    for label, names in sorted(groups.items(), key=lambda g: list(GROUPS.values()).index(g[0])):
        mean = {k: {m: np.mean([results[(n, k)][m] for n in names]) for m in ("pixel_iou", "pixel_f1", "object_f1")}
                for k in ("new", "previous")}
        n, o = mean["new"], mean["previous"]
        print(f"| **{label}** ({len(names)}) | | **{n['pixel_iou']:.3f}** | {n['pixel_f1']:.3f} | "
              f"**{n['object_f1']:.3f}** | {o['pixel_iou']:.3f} | {o['pixel_f1']:.3f} | {o['object_f1']:.3f} |")


if __name__ == "__main__":
    main()
