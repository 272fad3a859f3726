"""What the 'labels are incomplete' option buys: fine-tune the default model on a place with all its outlines,
with 30 % of them removed, and with 30 % removed plus INCOMPLETE_LABELS, each for the same time budget, and
measure building IoU on a part of the place no run trained on (Austin: train on the west half, test on the east).
A fourth run gives no labelled area: the removed-30 % outlines of the training half only, INCOMPLETE_LABELS
estimating the labelled area itself (it should find the training half).

    python benchmarks/incomplete_labels.py [--place austin] [--minutes 5] [--threads 1] [--runs 1 2 3 4]
"""

import argparse
import os
import subprocess  # nosec B404 - fixed commands
import tempfile

from accuracy import CITIES, score
from common import ROOT, import_plugin
from same_budget import parts, write_area

import_plugin()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--place", default="austin")
    ap.add_argument("--minutes", type=float, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--removed", type=float, default=0.3)
    ap.add_argument("--runs", type=int, nargs="+", default=[1, 2, 3, 4], help="which rows (1-4) to run")
    args = ap.parse_args()
    import rasterio
    from osgeo import gdal

    from buildseg.engine.extract.inference import ExtractParams

    work = tempfile.mkdtemp(prefix="buildseg-incomplete-")
    image, train, test = parts(args.place, work, None)
    with rasterio.open(image) as src:
        crs = src.crs.to_wkt()
    area = write_area(train, crs, os.path.join(work, "train.gpkg"))
    full = str(CITIES / args.place / "buildings.gpkg")
    every = max(2, round(1 / args.removed))
    partial = os.path.join(work, "partial.gpkg")  # every n-th outline removed (deterministic)
    gdal.VectorTranslate(partial, full, where=f"fid % {every} != 0", layerName="buildings")
    west = train_part(partial, area, crs, os.path.join(work, "partial_train_part.gpkg"))
    runs = [("all outlines", full, False, area), (f"{100 * args.removed:.0f}% removed", partial, False, area),
            (f"{100 * args.removed:.0f}% removed, INCOMPLETE_LABELS", partial, True, area),
            (f"{100 * args.removed:.0f}% removed, INCOMPLETE_LABELS, labelled area estimated", west, True, None)]
    print(f"{args.place}: fine-tuning the default model for {args.minutes:g} min on {args.threads} thread(s) each")
    print("| labels | building IoU (test half) | F1 | building F1 |\n|---|---|---|---|")
    env = dict(os.environ, BUILDSEG_THREADS=str(args.threads), QT_QPA_PLATFORM="offscreen")
    for name, labels, incomplete, labelled in (runs[k - 1] for k in args.runs):
        out = os.path.join(work, f"{len(name)}-{incomplete}.safetensors")
        subprocess.run([str(ROOT / "scripts" / "qgis_process"), "run", "buildseg:trainmodel", "--", f"INPUT={image}",
                        f"LABELS={labels}", f"TIME_BUDGET={args.minutes}", "RESUME=false", "SEED=0",
                        "ALIGN_LABELS=false", f"INCOMPLETE_LABELS={str(incomplete).lower()}", f"OUTPUT_MODEL={out}"]
                       + ([f"LABELLED_AREA={labelled}"] if labelled else []),
                       check=True, env=env, capture_output=True)  # nosec B603
        m = score(out, (args.place, "test", image, full, test), ExtractParams(aoi=test), work)
        print(f"| {name} | {m['pixel_iou']:.3f} | {m['pixel_f1']:.3f} | {m['object_f1']:.3f} |", flush=True)


def train_part(labels: str, area: str, crs: str, out: str) -> str:
    """The outlines whose centre lies in the training area (no labelled area: nothing of the test part)."""
    from osgeo import gdal, ogr

    gdal.VectorTranslate(out, labels, dstSRS=crs, layerName="buildings")
    zone = ogr.Open(area)
    inside = ogr.Geometry(ogr.wkbMultiPolygon)
    for f in zone.GetLayer(0):
        inside = inside.Union(f.GetGeometryRef())
    ds = ogr.Open(out, 1)
    layer = ds.GetLayer(0)
    gone = [f.GetFID() for f in layer if not inside.Contains(f.GetGeometryRef().Centroid())]
    for fid in gone:
        layer.DeleteFeature(fid)
    ds = None
    return out


if __name__ == "__main__":
    main()
