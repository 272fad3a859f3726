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
    from buildseg.engine.cluster import extract_blocks
    from buildseg.engine.inference import ExtractParams

    t0 = time.perf_counter()
    res = extract_blocks(scene, str(DEFAULT_MODEL), os.path.join(work, f"mask_{workers}_{block}.tif"),
                         params=ExtractParams(overlap=0), block=block, executor="local", workers=workers,
                         work_dir=os.path.join(work, f"blocks_{workers}_{block}"))
    return time.perf_counter() - t0, res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--big", type=int, default=4096)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="buildseg-scaleout-")
    scene = synthetic_scene(os.path.join(work, f"scene_{args.size}.tif"), args.size)
    block = args.size // 4  # 16 equal blocks
    print(f"scene {args.size} px, 16 blocks of {block} px, load average before: {load_average()}")
    t1, r1 = run(scene, 1, block, work)
    t2, r2 = run(scene, 2, block, work)
    print(f"1 worker : {t1:7.1f} s ({r1.blocks} blocks)")
    print(f"2 workers: {t2:7.1f} s  speed-up {t1 / t2:.2f}x  (load average after: {load_average()})")
    big = synthetic_scene(os.path.join(work, f"scene_{args.big}.tif"), args.big)
    _, rb = run(big, 2, block, work)
    print(f"peak worker memory: {r2.peak_rss_mib:.0f} MiB on {args.size} px, {rb.peak_rss_mib:.0f} MiB on "
          f"{args.big} px ({rb.peak_rss_mib / max(r2.peak_rss_mib, 1):.2f}x for {(args.big / args.size) ** 2:.0f}x "
          "the pixels)")


if __name__ == "__main__":
    main()
