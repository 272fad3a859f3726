"""README picture of the free-labels workflow on a real place: OpenStreetMap outlines as loaded, what training
takes from them (aligned, stale outlines set aside, unlabelled buildings the model sees ignored, labelled area
estimated), and the buildings extracted after a short fine-tune with those settings.

    python scripts/free_labels_figure.py [--place nairobi] [--window 3584 0 768 768] [--minutes 3] [--out docs/...]

Runs `qgis_process run buildseg:trainmodel` (as a user would) and the engine's own steps for the middle panel.
"""

import argparse
import os
import subprocess  # nosec B404 - fixed commands
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import DEFAULT_MODEL, import_plugin  # noqa: E402

import_plugin()
DATA = ROOT.parent / "shared" / "data" / "cities"


def outlines(ax, shapes, transform, colour, width=0.8):
    inv = ~transform
    for geom in shapes:
        polys = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
        for poly in polys:
            xy = np.array([inv * tuple(p[:2]) for p in poly[0]])
            ax.plot(xy[:, 0], xy[:, 1], color=colour, linewidth=width)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--place", default="nairobi")
    ap.add_argument("--window", type=int, nargs=4, default=[3584, 0, 768, 768], metavar=("X", "Y", "W", "H"))
    ap.add_argument("--minutes", type=float, default=3)
    ap.add_argument("--out", default=str(ROOT / "docs" / "free_labels_workflow.jpg"))
    args = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import rasterio
    from osgeo import gdal, ogr

    from buildseg.engine.evaluation.evaluate import polygons_from_file
    from buildseg.engine.extract.fit import check_fit
    from buildseg.engine.extract.inference import ExtractParams, extract
    from buildseg.engine.io.labels import IGNORE, IncompleteLabels, PolygonLabels
    from buildseg.engine.train import align, label_review

    work = tempfile.mkdtemp(prefix="buildseg-figure-")
    image = os.path.join(work, "image.tif")
    gdal.Translate(image, str(DATA / args.place / "image.tif"), srcWin=args.window)
    with rasterio.open(image) as src:
        rgb = np.moveaxis(src.read([1, 2, 3]), 0, -1)
        crs, transform, shape = src.crs.to_wkt(), src.transform, (src.height, src.width)
    labels = str(DATA / args.place / "buildings.gpkg")
    shapes = polygons_from_file(labels, crs)
    offset = align.estimate(image, shapes, DEFAULT_MODEL, work)
    moved = align.shift_shapes(shapes, offset.dx, offset.dy) if offset.clear else shapes
    prob = os.path.join(work, "prob.tif")
    extract(image, DEFAULT_MODEL, out_probability=prob, params=ExtractParams(separate=False))
    stale = label_review.stale_labels(moved, prob)
    gone = {s.index for s in stale}
    kept = [(g, IGNORE if i in gone else v) for i, (g, v) in enumerate(moved)]
    area = label_review.estimate_labelled_area(kept, prob)
    taught = IncompleteLabels(PolygonLabels(kept, area), prob).read(transform, 0, 0, *shape)

    model = os.path.join(work, "model.safetensors")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    subprocess.run([str(ROOT / "scripts" / "qgis_process"), "run", "buildseg:trainmodel", "--", f"INPUT={image}",
                    f"LABELS={labels}", f"TIME_BUDGET={args.minutes}", "INCOMPLETE_LABELS=true", "SEED=0",
                    f"OUTPUT_MODEL={model}"], check=True, env=env, capture_output=True)  # nosec B603
    found = os.path.join(work, "buildings.gpkg")
    extract(image, model, out_polygons=found)
    ds = ogr.Open(found)
    import json

    extracted = [json.loads(f.GetGeometryRef().ExportToJson()) for f in ds.GetLayer(0)]
    fit = check_fit(image, DEFAULT_MODEL, run=extract)

    fig, axes = plt.subplots(1, 3, figsize=(15, 5.8))
    for ax in axes:
        ax.imshow(rgb)
        ax.set_axis_off()
    axes[0].set_title("1. OpenStreetMap outlines as loaded\n" + f"default model: {fit.summary().split(';')[0]}",
                      fontsize=10)
    outlines(axes[0], [g for g, _ in shapes], transform, "cyan")
    overlay = np.zeros(shape + (4,))
    overlay[taught == 1] = (0.2, 0.4, 1.0, 0.45)  # taught as building
    overlay[(taught == IGNORE)] = (1.0, 0.85, 0.0, 0.35)  # left out of the loss
    axes[1].imshow(overlay)
    outlines(axes[1], [g for i, (g, _) in enumerate(moved) if i in gone], transform, "red", 1.5)
    shift = f"shifted by ({-offset.dx:+.1f}, {-offset.dy:+.1f}) m" if offset.clear else "no clear shift"
    axes[1].set_title(f"2. What training takes: outlines aligned ({shift}); blue: building,\n"
                      f"yellow: ignored (unlabelled building or outside the estimated labelled area), "
                      f"red: {len(stale)} stale", fontsize=9)
    outlines(axes[2], extracted, transform, "orange", 1.0)
    axes[2].set_title(f"3. Extracted after a {args.minutes:g}-minute fine-tune\n{len(extracted)} buildings",
                      fontsize=10)
    for ax in axes:
        ax.set_xlim(0, shape[1])
        ax.set_ylim(shape[0], 0)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(args.out, dpi=72, pil_kwargs={"quality": 80})
    print(f"{args.out}: offset {offset.describe()}, {len(stale)} stale, {len(area)} labelled part(s), "
          f"{len(extracted)} buildings extracted")


if __name__ == "__main__":
    main()
