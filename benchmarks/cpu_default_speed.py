"""CPU extraction with the default parameters (backend auto) against another revision's, in one run.

    python benchmarks/cpu_default_speed.py [--against GIT_REV] [--size 4096] [--rounds 3] [--scene PATH]

The default model on a real-content 0.3 m scene (tiled from the bundled sample; --scene: any raster), mask,
probability and polygons, the whole extraction. This checkout and a temporary git worktree of the other revision
(default: HEAD) alternate in processes of their own; medians of the rounds are compared. Every run starts with
the model's ONNX export cached (made once per model and machine) and nothing else: a scene BuildSeg has not seen,
so an INT8 calibration is part of the time measured.
"""

import argparse
import json
import os
import shutil
import subprocess  # nosec B404 - fixed git and python commands
import sys
import tempfile
import time

from common import DEFAULT_MODEL, ROOT, load_average, synthetic_scene


def one_run(scene: str, work: str) -> dict:
    """One default extraction in this process: seconds, backend, buildings."""
    from common import import_plugin

    import_plugin()
    from buildseg.engine.extract import inference
    from buildseg.engine.extract.params import ExtractParams

    paths = [os.path.join(work, name) for name in ("mask.tif", "probability.tif", "buildings.gpkg")]
    t0 = time.perf_counter()
    result = inference.extract(scene, str(DEFAULT_MODEL), *paths, params=ExtractParams())
    return {"seconds": time.perf_counter() - t0, "backend": result.backend, "buildings": result.buildings}


def export_once() -> None:
    """The default model's ONNX export, into $BUILDSEG_CACHE."""
    from common import import_plugin

    import_plugin()
    from buildseg.engine.extract.predict import cached_onnx
    from buildseg.engine.models import modelfile

    model, info = modelfile.load(str(DEFAULT_MODEL))
    cached_onnx(str(DEFAULT_MODEL), model, info)


def run_in(tree: str, scene: str, warm_cache: str) -> dict:
    """one_run in a fresh process of the checkout at `tree`, its cache holding only the ONNX export."""
    cache = tempfile.mkdtemp(prefix="buildseg-cache-")
    for name in os.listdir(warm_cache):
        if name.endswith(".onnx") and ".int8-" not in name:
            shutil.copy(os.path.join(warm_cache, name), cache)
    work = tempfile.mkdtemp(prefix="buildseg-cpu-")
    env = dict(os.environ, BUILDSEG_CACHE=cache, TMPDIR=tempfile.mkdtemp(prefix="buildseg-tmp-"))
    try:
        out = subprocess.run([sys.executable, os.path.join(tree, "benchmarks", "cpu_default_speed.py"), "--one",
                              scene, "--work", work], check=True, capture_output=True, text=True, env=env,
                             cwd=os.path.join(tree, "benchmarks")).stdout  # nosec B603
    finally:
        for folder in (cache, work, env["TMPDIR"]):
            shutil.rmtree(folder, ignore_errors=True)
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--against", default="HEAD", metavar="GIT_REV")
    ap.add_argument("--size", type=int, default=4096, help="side of the sample-based scene in pixels (0.3 m)")
    ap.add_argument("--scene", help="a raster to run instead of the sample-based scene")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--one", metavar="SCENE", help=argparse.SUPPRESS)
    ap.add_argument("--work", help=argparse.SUPPRESS)
    ap.add_argument("--warm", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one_run(args.one, args.work)))
        return
    if args.warm:
        export_once()
        return
    folder = tempfile.mkdtemp(prefix="buildseg-cpu-scene-")
    scene = args.scene or synthetic_scene(os.path.join(folder, "scene.tif"), args.size, res=0.3)
    import rasterio

    with rasterio.open(scene) as src:
        mp = src.width * src.height / 1e6
    warm = tempfile.mkdtemp(prefix="buildseg-cache-warm-")
    try:
        from common import revision_tree  # here: the other revision runs a copy of this script (its own common)

        with revision_tree(args.against) as tree:
            with open(__file__) as mine, open(os.path.join(tree, "benchmarks", "cpu_default_speed.py"), "w") as f:
                f.write(mine.read())  # the same measurement in both trees
            subprocess.run([sys.executable, __file__, "--warm"], check=True, capture_output=True,
                           env=dict(os.environ, BUILDSEG_CACHE=warm))  # nosec B603 - the ONNX export, once
            runs = {}
            for _ in range(args.rounds):  # alternating whole processes: this VM's speed drifts
                for name, where in (("this checkout", str(ROOT)), (args.against, tree)):
                    runs.setdefault(name, []).append(run_in(where, scene, warm))
    finally:
        shutil.rmtree(warm, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
    print(f"machine: {os.cpu_count()} cores, load average {load_average()}; {os.path.basename(scene)} "
          f"({mp:.1f} MP), default parameters, mask + probability + polygons, {args.rounds} rounds")
    from common import report_against  # here: the other revision's copy of this script imports its own common

    report_against(runs, args.against, mp, "CPU default speed",
                   lambda r: f"backend {r['backend']}, {r['buildings']} buildings")


if __name__ == "__main__":
    main()
