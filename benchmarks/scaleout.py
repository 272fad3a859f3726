"""Scale-out of block extraction on a Dask LocalCluster: 1 worker vs 2 workers on 16 equal blocks, in one run,
with the machine's load average; and each worker's peak memory for two scene sizes (it should stay flat).

    python benchmarks/scaleout.py [--size 2048] [--big 4096]
"""

import argparse
import os
import tempfile
import time

from common import DEFAULT_MODEL, import_plugin, load_average, synthetic_scene

import_plugin()


def run(scene, workers, block, work):
    from buildseg.engine.extract.inference import ExtractParams
    from buildseg.engine.scaleout.cluster import extract_blocks

    t0 = time.perf_counter()
    res = extract_blocks(scene, str(DEFAULT_MODEL), os.path.join(work, f"mask_{workers}_{block}.tif"),
                         params=ExtractParams(overlap=0), block=block, executor="local", workers=workers,
                         work_dir=os.path.join(work, f"blocks_{workers}_{block}"))
    return time.perf_counter() - t0, res.blocks


def _matmuls(n):
    import numpy as np

    a = np.random.default_rng(0).random((600, 600), dtype=np.float32)
    for _ in range(n):
        a @ a


def machine_scaling(repeat: int = 60) -> float:
    """The machine's own ceiling: two single-thread processes of matmuls vs one (vCPUs may not scale)."""
    import multiprocessing as mp

    os.environ.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    times = []
    for procs in (1, 2):
        with mp.get_context("spawn").Pool(procs) as pool:
            pool.map(_matmuls, [1, 1])  # warm up
            t0 = time.perf_counter()
            pool.map(_matmuls, [repeat, repeat])
            times.append(time.perf_counter() - t0)
    return times[0] / times[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--big", type=int, default=4096)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="buildseg-scaleout-")
    scene = synthetic_scene(os.path.join(work, f"scene_{args.size}.tif"), args.size)
    block = args.size // 4  # 16 equal blocks
    print(f"scene {args.size} px, 16 blocks of {block} px, load average before: {load_average()}")
    print(f"machine: 2 single-thread processes of matmuls run {machine_scaling():.2f}x one (the ceiling here)")
    t1, r1 = run(scene, 1, block, work)
    t2, r2 = run(scene, 2, block, work)
    print(f"1 worker : {r1.compute_seconds:6.1f} s on the blocks ({t1:.1f} s in all, {r1.startup_seconds:.1f} s to "
          f"start the cluster)")
    print(f"2 workers: {r2.compute_seconds:6.1f} s on the blocks ({t2:.1f} s in all, {r2.startup_seconds:.1f} s to "
          f"start the cluster)")
    print(f"speed-up on the blocks {r1.compute_seconds / r2.compute_seconds:.2f}x, end to end {t1 / t2:.2f}x "
          f"(load average after: {load_average()})")
    big = synthetic_scene(os.path.join(work, f"scene_{args.big}.tif"), args.big)
    _, rb = run(big, 2, block, work)
    print(f"peak worker memory: {r2.peak_rss_mib:.0f} MiB on {args.size} px, {rb.peak_rss_mib:.0f} MiB on "
          f"{args.big} px ({rb.peak_rss_mib / max(r2.peak_rss_mib, 1):.2f}x for {(args.big / args.size) ** 2:.0f}x "
          "the pixels)")


if __name__ == "__main__":
    main()
