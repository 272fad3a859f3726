"""Extraction speed of the default model, new and previous, side by side in one run, alternating rounds.

The same real-content scene (tiled from the bundled sample) is run twice: georeferenced at 1 m (the previous
model's resolution: the new 0.3 m model resamples it up, about 11x the pixels) and at 0.3 m (the new model's:
the previous one resamples it down). Input megapixels per second, best of the rounds, ratio new / previous.

    python benchmarks/default_model_speed.py [--size 2048] [--rounds 2] [--previous-rev REV]
"""

import argparse
import os
import tempfile
import time

from accuracy import PREVIOUS_REV, previous_model
from common import DEFAULT_MODEL, import_plugin, synthetic_scene

import_plugin()


def at_resolution(src: str, dst: str, pixel: float) -> str:
    """A copy of `src` whose pixels are `pixel` metres (same content, new geotransform)."""
    from osgeo import gdal

    gdal.Translate(dst, src, creationOptions=["TILED=YES", "COMPRESS=DEFLATE"])
    ds = gdal.Open(dst, gdal.GA_Update)
    gt = list(ds.GetGeoTransform())
    gt[1], gt[5] = pixel, -pixel
    ds.SetGeoTransform(gt)
    ds = None
    return dst


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--previous-rev", default=PREVIOUS_REV)
    args = ap.parse_args()
    from buildseg.engine.extract.inference import ExtractParams, extract

    work = tempfile.mkdtemp(prefix="buildseg-speed-")
    base = synthetic_scene(os.path.join(work, "scene.tif"), args.size)
    scenes = {"1 m": at_resolution(base, os.path.join(work, "s1.tif"), 1.0),
              "0.3 m": at_resolution(base, os.path.join(work, "s03.tif"), 0.3)}
    models = {"new": str(DEFAULT_MODEL), "previous": previous_model(args.previous_rev, work)}
    mp = args.size * args.size / 1e6
    best = {}
    for _ in range(args.rounds):
        for scene, path in scenes.items():
            for label, model in models.items():
                t0 = time.perf_counter()
                extract(path, model, out_mask=os.path.join(work, "m.tif"),
                        out_polygons=os.path.join(work, "b.gpkg"), params=ExtractParams())
                dt = time.perf_counter() - t0
                best[(scene, label)] = min(best.get((scene, label), dt), dt)
    print(f"scene {args.size} x {args.size} px ({mp:.1f} MP), best of {args.rounds} alternating rounds, CPU\n")
    print("| scene georeferenced at | new (0.3 m model) MP/s | previous (1 m model) MP/s | new / previous |")
    print("|---|---|---|---|")
    for scene in scenes:
        n, p = mp / best[(scene, "new")], mp / best[(scene, "previous")]
        print(f"| {scene} | {n:.2f} | {p:.2f} | {n / p:.2f}x |")


if __name__ == "__main__":
    main()
