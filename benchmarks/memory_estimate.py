"""Does the memory guard's estimate hold? Extraction with the default model over tile sizes and batch sizes,
each in a fresh process with an empty model cache (so ONNX Runtime's peak includes exporting the model at that
tile size, the worst case): the guard's estimate (engine.core.memory.tile_bytes x batch + the blending buffers) against
the measured growth of peak resident memory (VmHWM) over the process's footprint before the run.

    python benchmarks/memory_estimate.py [--tiles 64 128 256 512 1024 2048] [--batches 1 4]

A ratio measured / estimated at or below 1 means the guard refuses or shrinks work before the kernel would
kill it. (Tile 4096 needs more memory than this 23 GiB machine can spare; the fitted per-pixel cost covers it.)
"""

import argparse
import json
import os
import subprocess  # nosec B404 - runs this script
import sys
import tempfile

from common import DEFAULT_MODEL, SAMPLE, import_plugin

import_plugin()


def scene(path: str, size: int) -> str:
    """A size x size RGB GeoTIFF at the model's 0.3 m, tiled from the real sample scene."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(SAMPLE) as src:
        tile, crs = src.read(), src.crs
    reps = -(-size // tile.shape[1])
    data = np.tile(tile, (1, reps, reps))[:, :size, :size]
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=3, dtype="uint8", crs=crs,
                       transform=from_origin(300000, 2800000, 0.3, 0.3), tiled=True) as dst:
        dst.write(data)
    return path


def child(tile: int, batch: int, backend: str, raster: str) -> dict:
    import torch  # noqa: F401 - imported before the baseline, as extraction would

    from buildseg.engine.core import memory
    from buildseg.engine.extract.inference import ExtractParams, blend_bytes, extract
    from buildseg.engine.io.raster import RasterSource

    def rss():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

    before = rss()
    with RasterSource(raster) as src:
        fixed = blend_bytes(src, tile, 2)
    kind = memory.inference_kind(backend, torch.device("cpu"))
    estimate = (memory.tile_bytes(tile, 3, kind) * batch + fixed + memory.RUNTIME_BYTES) / 2**20
    out = tempfile.mktemp(suffix=".tif")  # nosec B306 - a scratch name in the temp folder
    extract(raster, str(DEFAULT_MODEL), out_mask=out, params=ExtractParams(tile_size=tile, batch_size=batch,
                                                                           backend=backend, overlap=0))
    return {"tile": tile, "batch": batch, "backend": backend, "estimate_mib": round(estimate),
            "measured_mib": round(memory.peak_rss_mib() - before)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiles", type=int, nargs="+", default=[64, 128, 256, 512, 1024, 2048])
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--backends", nargs="+", default=["onnxruntime", "torch"])
    ap.add_argument("--child", nargs=4)
    args = ap.parse_args()
    if args.child:
        tile, batch, backend, raster = args.child
        print(json.dumps(child(int(tile), int(batch), backend, raster)))
        return
    work = tempfile.mkdtemp(prefix="buildseg-mem-")
    print("| tile px | batch | backend | estimate MiB | measured MiB | measured / estimate |")
    print("|---|---|---|---|---|---|")
    worst = 0.0
    for tile in args.tiles:
        raster = scene(f"{work}/s{tile}.tif", max(tile, 512))
        for batch in args.batches:
            if tile * tile * batch > 2048 * 2048:
                continue
            for backend in args.backends:
                env = dict(os.environ, BUILDSEG_CACHE=tempfile.mkdtemp(dir=work))  # a cold cache: export included
                out = subprocess.run([sys.executable, __file__, "--child", str(tile), str(batch), backend, raster],
                                     capture_output=True, text=True, env=env)  # nosec B603
                if out.returncode != 0:
                    print(f"| {tile} | {batch} | {backend} | failed: {out.stderr.strip().splitlines()[-1]} |")
                    continue
                r = json.loads(out.stdout.strip().splitlines()[-1])
                ratio = r["measured_mib"] / max(r["estimate_mib"], 1)
                worst = max(worst, ratio)
                print(f"| {tile} | {batch} | {backend} | {r['estimate_mib']} | {r['measured_mib']} | {ratio:.2f} |",
                      flush=True)
    print(f"\nworst measured / estimate: {worst:.2f} (at or below 1: the estimate holds)")


if __name__ == "__main__":
    main()
