"""Accuracy of a model through BuildSeg's extraction: building IoU, F1, precision, recall.

Default: the bundled model on Dubai Tile 8 (the test group no bundled model is trained on; the reference is
`scenes/tile8_partK_classes.tif`, class 1 = building, 0 = unlabelled and ignored), then on the fixture clips
(SpaceNet Atlanta / Las Vegas / SN7, Massachusetts) against their polygons. Confusion matrices are summed
over the images of a set (global metrics), and per-image IoU is printed too.

    python benchmarks/accuracy.py [--model PATH] [--tta none|flips|d4]
"""

import argparse
import glob
import os
import tempfile
import time

import numpy as np
from common import DATA, DEFAULT_MODEL, import_plugin

import_plugin()

FIXTURES = [
    ("SpaceNet 4 Atlanta 0.5 m", "gdl-spacenet/SN4_buildings_train_AOI_6_Atlanta_nadir10_catid_1030010003993E00_PS-RGB"
     "_732701_3729639_clipped.tif", "gdl-spacenet/SN4_buildings_train_AOI_6_Atlanta_geojson_buildings_732701_3729639"
     ".geojson"),
    ("SpaceNet 7 mosaic 4.8 m", "gdl-spacenet/SN7_global_monthly_2020_01_mosaic_L15-0331E-1257N_1327_3160_13_uint8_"
     "clipped.tif", "gdl-spacenet/SN7_global_monthly_2020_01_mosaic_L15-0331E-1257N_1327_3160_13_uint8_clipped.gpkg"),
    ("SpaceNet 2 Las Vegas 0.3 m", "gdl-spacenet/SpaceNet_AOI_2_Las_Vegas-056155973080_01_P001-WV03-RGB.tif",
     "gdl-spacenet/SpaceNet_AOI_2_Las_Vegas-056155973080_01_P001-WV03.gpkg"),
    ("Massachusetts 1 m", "gdl-massachusetts/22978945_15_uint8_clipped.tif", "gdl-massachusetts/22978945_15.gpkg"),
]


def dubai_test_pairs():
    """(name, image, class raster) of the nine Dubai Tile 8 images."""
    dubai = sorted(glob.glob(str(DATA / "dubai" / "scenes" / "tile8_part[0-9].tif")))
    return [(os.path.basename(p)[:-4], p, p[:-4] + "_classes.tif") for p in dubai]


def evaluate_set(pairs, model, params, work):
    """[(name, raster, reference)] -> (summed confusion, [(name, iou)], seconds)."""
    import rasterio

    from buildseg.engine.evaluate import (
        EvalParams,
        binary_confusion,
        evaluate,
        polygons_from_file,
        reference_from_polygons,
    )
    from buildseg.engine.inference import extract
    from buildseg.engine.labels import IGNORE
    from buildseg.engine.metrics import scores

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


def line(label, result):
    from buildseg.engine.metrics import scores

    cm, (tp, fp, fn) = result
    s = scores(cm)
    f1 = 2 * tp / max(1, 2 * tp + fp + fn)
    return (f"| {label} | {s['iou'][1]:.3f} | {s['f1'][1]:.3f} | {s['precision'][1]:.3f} | {s['recall'][1]:.3f} | "
            f"{f1:.3f} | {cm[1].sum() / max(1, cm.sum()):.3f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--tta", default="none")
    ap.add_argument("--overlap", type=int, default=64)
    ap.add_argument("--backend", default="auto")
    args = ap.parse_args()
    from buildseg.engine import modelfile
    from buildseg.engine.inference import ExtractParams

    info = modelfile.read_info(args.model)
    params = ExtractParams(overlap=args.overlap, tta=args.tta, backend=args.backend)
    work = tempfile.mkdtemp(prefix="buildseg-accuracy-")
    print(f"model: {args.model}\n  {info.summary()}\n  trained: {info.training.get('epochs_run')} epochs, "
          f"{info.training.get('seconds')} s; TTA {args.tta}, overlap {args.overlap}, backend {args.backend}")
    cm, rows, dt = evaluate_set(dubai_test_pairs(), args.model, params, work)
    print("\nper image building IoU (Dubai Tile 8): " + ", ".join(f"{n} {v:.3f}" for n, v in rows))
    print("\n| set | building IoU | F1 | precision | recall | object F1 (IoU>=0.5) | building share |\n"
          "|---|---|---|---|---|---|---|")
    print(line(f"Dubai Tile 8 (9 images, {dt:.0f} s)", cm))
    for label, raster, ref in FIXTURES:
        path = DATA / "fixtures" / raster
        cm, _, _ = evaluate_set([(label, str(path), str(DATA / "fixtures" / ref))], args.model, params, work)
        print(line(label, cm))


if __name__ == "__main__":
    main()
