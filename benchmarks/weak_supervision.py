"""Weak supervision on Dubai: pseudo-mask IoU per step (CAM, AdvCAM, IRN, CRF) from points on the buildings of
dev scenes (Tiles 1-7), then a model trained on the pseudo-masks against one trained on the true masks with the
same budget, both evaluated on the test images (Tile 8). All figures in one run.

    python benchmarks/weak_supervision.py [--backbone resnet18] [--scenes 3] [--epochs 4]
"""

import argparse
import json
import os
import tempfile
import time

import numpy as np
from common import DATA, import_plugin

import_plugin()
DEV = ["tile7_part1", "tile7_part3", "tile7_part5", "tile2_part3", "tile6_part1"]


def dev_scene(name, work, size=1024):
    """A crop of a dev image, its points (one per building) and its reference mask."""
    import rasterio
    from osgeo import gdal, ogr
    from rasterio.features import rasterize

    src = str(DATA / "dubai" / "scenes" / f"{name}.tif")
    out = os.path.join(work, f"{name}.tif")
    with rasterio.open(src) as ds:
        w, h = min(size, ds.width), min(size, ds.height)
    gdal.Translate(out, src, srcWin=[0, 0, w, h])
    shapes, points = [], []
    ds = ogr.Open(src[:-4] + "_buildings.gpkg")
    with rasterio.open(out) as r:
        b = r.bounds
        for f in ds.GetLayer(0):
            g = f.GetGeometryRef()
            shapes.append(json.loads(g.ExportToJson()))
            p = g.PointOnSurface()
            if b.left < p.GetX() < b.right and b.bottom < p.GetY() < b.top:
                points.append((p.GetX(), p.GetY()))
        ref = rasterize(shapes, out_shape=(r.height, r.width), transform=r.transform, dtype="uint8") \
            if shapes else np.zeros((r.height, r.width), np.uint8)
    return out, points, shapes, ref


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backbone", default="resnet18")
    ap.add_argument("--scenes", type=int, default=3)
    ap.add_argument("--tile", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=4)
    args = ap.parse_args()
    from accuracy import dubai_test_pairs, evaluate_set

    from buildseg.engine.evaluation.metrics import scores
    from buildseg.engine.extract.inference import ExtractParams
    from buildseg.engine.io.labels import PolygonLabels, RasterLabels
    from buildseg.engine.train import loop
    from buildseg.engine.train.dataset import Scene
    from buildseg.engine.weak.cam import CamParams
    from buildseg.engine.weak.pseudomasks import STEPS, PseudoParams, generate
    from buildseg.engine.weak.tile_labels import WeakLabels

    work = tempfile.mkdtemp(prefix="buildseg-weak-")
    inter = {k: 0 for k in STEPS}
    union = {k: 0 for k in STEPS}
    pseudo_scenes, true_scenes = [], []
    t0 = time.time()
    for name in DEV[:args.scenes]:
        raster, points, shapes, ref = dev_scene(name, work)
        params = PseudoParams(cam=CamParams(backbone=args.backbone, tile_size=args.tile))
        mask = os.path.join(work, f"{name}_pseudo.tif")
        report = generate(raster, WeakLabels(points=points), mask, params=params, keep_steps=True)
        for k, m in report["steps"].items():
            inter[k] += int(((m == 1) & (ref == 1)).sum())
            union[k] += int(((m == 1) | (ref == 1)).sum())
        ious = {k: ((m == 1) & (ref == 1)).sum() / max(((m == 1) | (ref == 1)).sum(), 1)
                for k, m in report["steps"].items()}
        print(f"{name}: {len(points)} points, " + ", ".join(f"{k} {v:.3f}" for k, v in ious.items()), flush=True)
        pseudo_scenes.append(Scene(raster, RasterLabels(mask)))
        true_scenes.append(Scene(raster, PolygonLabels([(g, 1) for g in shapes])))
    print(f"\npseudo-masks from points, {args.backbone}, {args.scenes} dev images of 1024 px "
          f"({time.time() - t0:.0f} s)")
    print("| step | building IoU |\n|---|---|")
    for k in STEPS:
        print(f"| {k} | {inter[k] / max(union[k], 1):.3f} |")
    tp = loop.TrainParams(architecture="unet-mobilenet", tile_size=256, epochs=args.epochs, tiles_per_epoch=192,
                              batch_size=8, lr=1e-3, val_fraction=0.0, seed=0)
    print(f"\nsame budget ({args.epochs} epochs x 192 tiles, unet-mobilenet), test: Dubai Tile 8 (9 images)")
    print("| trained on | building IoU | F1 | seconds |\n|---|---|---|---|")
    for label, scenes in (("pseudo-masks from points", pseudo_scenes), ("true masks", true_scenes)):
        out = os.path.join(work, label.split()[0] + ".safetensors")
        t = time.time()
        loop.train(scenes, out, tp, resolution=1.0)
        seconds = time.time() - t
        (cm, _), _, _ = evaluate_set(dubai_test_pairs(), out, ExtractParams(overlap=64), work)
        s = scores(cm)
        print(f"| {label} | {s['iou'][1]:.3f} | {s['f1'][1]:.3f} | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
