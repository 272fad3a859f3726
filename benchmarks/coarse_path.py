"""Imagery much coarser than the model: what running the model on a coarser grid (WORK_RESOLUTION) buys in speed
and costs in accuracy. The default model (0.3 m) on places it never trained on whose imagery is 0.5-1 m, at its
own resolution (the input upsampled to 0.3 m) and at coarser work resolutions, side by side.

    python benchmarks/coarse_path.py --far FOLDER [--resolutions 0 0.45 0.6] [--only "austin 0.9 m"]

Places: the test parts of the far places (far_places.py in FOLDER: Austin-satellite 0.6 m, Atlanta panchromatic
0.5 m, Dubai Tile 8 at 1 m with block labels), Austin and the SpaceNet Las Vegas clip averaged to 0.9 m (three
of their pixels a side become one: another resolution of a city the model never saw), the SpaceNet Atlanta clip
averaged to 1 m and the Massachusetts clip (1 m as published). Building IoU and building-level F1 as
benchmarks/accuracy.py judges them; seconds of the extraction (mask and polygons) and input megapixels per second.
"""

import argparse
import os
import tempfile
import time

import numpy as np
from accuracy import FIXTURES, far_places, judge
from common import DATA, DEFAULT_MODEL, import_plugin

import_plugin()


def averaged(image: str, factor: float, out: str) -> str:
    """`image` with pixels `factor` times larger (the mean of the pixels each covers)."""
    from osgeo import gdal

    ds = gdal.Open(image)
    gt = ds.GetGeoTransform()
    gdal.Translate(out, ds, xRes=abs(gt[1]) * factor, yRes=abs(gt[5]) * factor, resampleAlg="average",
                   creationOptions=["TILED=YES", "COMPRESS=DEFLATE"])
    return out


def coarse_places(far: str, work: str) -> list:
    """(name, image, reference, test area) of places the default model never trained on, 0.5-1 m."""
    out = [(n.replace("far: ", ""), image, ref, area) for n, _, image, ref, area in far_places(far)
           if "austin" != n.replace("far: ", "")]
    fixtures = {name: (str(DATA / "fixtures" / image), str(DATA / "fixtures" / ref)) for name, image, ref in FIXTURES}
    austin = str(DATA / "cities" / "austin" / "image.tif")
    derived = [("austin 0.9 m", austin, str(DATA / "cities" / "austin" / "buildings.gpkg"), 3.0),
               ("las-vegas 0.9 m", *fixtures["las-vegas (SpaceNet 2, 0.3 m)"], 3.3),
               ("atlanta 1 m", *fixtures["atlanta (SpaceNet 4, 0.5 m)"], 2.0)]
    for name, image, ref, factor in derived:
        out.append((name, averaged(image, factor, os.path.join(work, name.replace(" ", "-") + ".tif")), ref, None))
    out.append(("massachusetts 1 m", *fixtures["massachusetts (1 m)"], None))
    return out


def run(place, resolution: float, work: str) -> dict:
    import rasterio

    from buildseg.engine.extract.inference import ExtractParams, extract

    name, image, ref, area = place
    stem = os.path.join(work, f"{name.replace(' ', '-')}-{resolution:g}")
    params = ExtractParams(work_resolution=resolution, aoi=area)
    with rasterio.open(image) as src:
        mp, res = src.width * src.height / 1e6, abs(src.transform.a)
    if mp < 1:  # small rasters get a tile of their own size: its one-off ONNX export is not timed
        extract(image, str(DEFAULT_MODEL), out_mask=stem + "-warm.tif", params=params)
    t0 = time.perf_counter()
    extract(image, str(DEFAULT_MODEL), out_mask=stem + ".tif", out_polygons=stem + ".gpkg", params=params)
    seconds = time.perf_counter() - t0
    m = judge(stem + ".gpkg", stem + ".tif", (name, "", image, ref, area))
    return {"iou": m["pixel_iou"], "bf1": m["object_f1"], "seconds": seconds, "mp": mp, "res": res}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--far", required=True, metavar="FOLDER", help="the far places' folder (far_places.py)")
    ap.add_argument("--resolutions", type=float, nargs="+", default=[0.0, 0.45, 0.6],
                    help="work resolutions in m (0: the model's own)")
    ap.add_argument("--only", default="", help="semicolon-separated place names (default: all)")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="buildseg-coarse-")
    places = [p for p in coarse_places(args.far, work) if not args.only or p[0] in args.only.split(";")]
    labels = ["model's (0.3 m)" if r == 0 else f"{r:g} m" for r in args.resolutions]
    print(f"machine: {os.cpu_count()} cores; default model; work resolutions: {', '.join(labels)}")
    print("| place | imagery | " + " | ".join(f"{lab}: IoU / building F1 / s" for lab in labels) + " |")
    print("|---|---|" + "---|" * len(labels))
    results = {}
    for place in places:
        cells = []
        for r in args.resolutions:
            results[(place[0], r)] = m = run(place, r, work)
            cells.append(f"{m['iou']:.3f} / {m['bf1']:.3f} / {m['seconds']:.1f}")
        m = results[(place[0], args.resolutions[0])]
        print(f"| {place[0]} | {m['res']:.2f} m, {m['mp']:.2f} MP | " + " | ".join(cells) + " |", flush=True)
    for r, lab in zip(args.resolutions, labels):
        rows = [results[(p[0], r)] for p in places]
        base = [results[(p[0], args.resolutions[0])] for p in places]
        print(f"{lab}: mean building IoU {np.mean([x['iou'] for x in rows]):.3f}, building F1 "
              f"{np.mean([x['bf1'] for x in rows]):.3f}; {sum(x['seconds'] for x in rows):.1f} s in all, "
              f"{sum(x['seconds'] for x in base) / sum(x['seconds'] for x in rows):.2f}x the speed of the first")


if __name__ == "__main__":
    main()
