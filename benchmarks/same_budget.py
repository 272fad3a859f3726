"""How much BuildSeg's training adds: BuildSeg's training (the bundled model's recipe, for --epochs epochs)
against the plain U-Net minimal loop of benchmarks/baseline.py given the same wall time, both measured on
Dubai Tile 8 through the same extraction.

    python benchmarks/same_budget.py [--epochs 4]
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

from common import DATA, import_plugin

import_plugin()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=4)
    args = ap.parse_args()
    from accuracy import dubai_test_pairs, evaluate_set
    from osgeo import ogr

    from buildseg.engine import training
    from buildseg.engine.dataset import Scene
    from buildseg.engine.inference import ExtractParams
    from buildseg.engine.labels import PolygonLabels
    from buildseg.engine.metrics import scores

    work = tempfile.mkdtemp(prefix="buildseg-budget-")
    scenes = []
    for path in sorted(glob.glob(str(DATA / "dubai" / "scenes" / "tile[1-7]_part[0-9].tif"))):
        ds = ogr.Open(path[:-4] + "_buildings.gpkg")
        layer = ds.GetLayer(0)
        scenes.append(Scene(path, PolygonLabels([(json.loads(f.GetGeometryRef().ExportToJson()), 1)
                                                 for f in layer])))
    params = training.TrainParams(architecture="unet-mobilenet", tile_size=256, epochs=args.epochs,
                                  tiles_per_epoch=384, batch_size=8, lr=1e-3, val_fraction=0.1, seed=0)
    t0 = time.time()
    ours = os.path.join(work, "buildseg.safetensors")
    training.train(scenes, ours, params, resolution=1.0)
    budget = time.time() - t0
    base = os.path.join(work, "baseline.safetensors")
    subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "baseline.py"), "--seconds",
                    str(budget), "--out", base], check=True)
    print(f"\nbudget: {budget:.0f} s each on {os.cpu_count()} cores; test: Dubai Tile 8 (9 images)")
    print("| training | building IoU | F1 |\n|---|---|---|")
    for label, model in ((f"BuildSeg trainmodel recipe, {args.epochs} epochs", ours),
                         ("plain U-Net, minimal loop", base)):
        (cm, _), _, _ = evaluate_set(dubai_test_pairs(), model, ExtractParams(overlap=64), work)
        s = scores(cm)
        print(f"| {label} | {s['iou'][1]:.3f} | {s['f1'][1]:.3f} |")


if __name__ == "__main__":
    main()
