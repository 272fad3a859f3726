"""The extraction pipeline alone: everything around the model (reading, normalising, blending, writing and
compressing the mask and the probability, tracing polygons, verifying the outputs), with an instant stand-in
model, against another revision's pipeline measured in the same run.

    python benchmarks/pipeline_throughput.py [--against GIT_REV] [--size 6144] [--rounds 3]

The stand-in returns a building probability made from the tile's first band in a few array operations, so the
masks and polygons are real work. Both revisions run in processes of their own, alternating, on the same
synthetic 0.3 m scene (no resampling: the bundled model's resolution); the medians of the rounds are compared.
With --against, the other revision is a temporary git worktree of it (default: the previous commit).
"""

import argparse
import inspect
import json
import os
import subprocess  # nosec B404 - fixed git and python commands
import sys
import tempfile
import time

from common import DEFAULT_MODEL, ROOT, load_average, synthetic_scene


class InstantModel:
    """A predictor that costs almost nothing: building probability = a sigmoid of the first normalised band
    averaged over 16 px cells (blobs the size of houses, not pixel noise)."""

    name = "instant stand-in"

    def __call__(self, x):
        import numpy as np

        n, _, h, w = x.shape
        cells = x[:, 0, : h // 16 * 16, : w // 16 * 16].reshape(n, h // 16, 16, w // 16, 16).mean(axis=(2, 4))
        p = np.ones((n, 1, h, w), np.float32) * 0.01
        p[:, 0, : h // 16 * 16, : w // 16 * 16] = np.repeat(np.repeat(1 / (1 + np.exp(-4 * cells)), 16, 1), 16, 2)
        return np.concatenate([1.0 - p, p], axis=1)


def one_run(scene: str, work: str, separate: bool) -> dict:
    """One extraction (mask, probability, polygons) with the stand-in model, in this process; seconds and the
    buildings traced. `separate`: split touching buildings (the default) or not."""
    from common import import_plugin

    import_plugin()
    from buildseg.engine.extract import inference
    from buildseg.engine.extract.params import ExtractParams

    # every revision loads its predictor here; those before d64bf58 returned (torch model, predictor)
    pair = "model, predictor = _load(" in inspect.getsource(inference.extract)
    inference._load = lambda *args, **kwargs: (None, InstantModel()) if pair else InstantModel()
    paths = [os.path.join(work, name) for name in ("mask.tif", "probability.tif", "buildings.gpkg")]
    params = ExtractParams(separate=separate)
    t0 = time.perf_counter()
    result = inference.extract(scene, str(DEFAULT_MODEL), *paths, params=params)
    return {"seconds": time.perf_counter() - t0, "buildings": result.buildings, "tiles": result.tiles}


def run_in(tree: str, scene: str, separate: bool) -> dict:
    """one_run in a fresh process of the checkout at `tree`."""
    work = tempfile.mkdtemp(prefix="buildseg-pipe-")
    env = dict(os.environ, TMPDIR=tempfile.mkdtemp(prefix="buildseg-tmp-"))  # its own plugin link
    command = [sys.executable, os.path.join(tree, "benchmarks", "pipeline_throughput.py"), "--one", scene,
               "--work", work] + ([] if separate else ["--no-separate"])
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env,
                         cwd=os.path.join(tree, "benchmarks")).stdout  # nosec B603
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--against", default="HEAD~1", metavar="GIT_REV")
    ap.add_argument("--size", type=int, default=6144, help="scene side in pixels (0.3 m)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--one", metavar="SCENE", help=argparse.SUPPRESS)
    ap.add_argument("--work", help=argparse.SUPPRESS)
    ap.add_argument("--no-separate", dest="separate", action="store_false", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one_run(args.one, args.work, args.separate)))
        return
    scene = synthetic_scene(os.path.join(tempfile.mkdtemp(prefix="buildseg-pipe-scene-"), "scene.tif"), args.size,
                            res=0.3)
    mp = args.size ** 2 / 1e6
    from common import revision_tree  # here: the other revision runs a copy of this script with its own common.py

    with revision_tree(args.against) as tree:
        with open(__file__) as mine, open(os.path.join(tree, "benchmarks", "pipeline_throughput.py"), "w") as theirs:
            theirs.write(mine.read())  # the same measurement in both trees
        runs = {}
        for _ in range(args.rounds):  # alternating whole processes: this VM's speed drifts
            for separate in (True, False):
                for name, where in (("this checkout", str(ROOT)), (args.against, tree)):
                    runs.setdefault((separate, name), []).append(run_in(where, scene, separate))
    print(f"machine: {os.cpu_count()} cores, load average {load_average()}; scene {args.size} px at 0.3 m "
          f"({mp:.1f} MP), mask + probability + polygons, instant stand-in model, {args.rounds} rounds")
    from common import report_against  # here: the other revision's copy of this script imports its own common

    for separate in (True, False):
        print("touching buildings separated (the default):" if separate else "without separating touching buildings:")
        report_against({name: rs for (sep, name), rs in runs.items() if sep == separate}, args.against, mp,
                       "pipeline speed", lambda r: f"{r['buildings']} buildings, {r['tiles']} tiles")


if __name__ == "__main__":
    main()
