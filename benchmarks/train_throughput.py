"""Training throughput: tiles/s of the real training step with BuildSeg's data pipeline (windows read from
Dubai rasters, labels rasterized per window, augmentation, prepared in a background thread while the model
trains, as in training) and, in the same run, of the model-only step on
tensors already in memory. The pipeline should not be the bottleneck (aim: >= 90% of the model-only rate).

    python benchmarks/train_throughput.py [--arch unet-mobilenet] [--tile 256] [--batch 8] [--steps 12]
"""

import argparse
import glob
import json
import os
import time

import numpy as np
from common import DATA, import_plugin, load_average

import_plugin()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", default="unet-mobilenet")
    ap.add_argument("--tile", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    import torch
    from osgeo import ogr

    from buildseg.engine.core import device as devices
    from buildseg.engine.io.labels import PolygonLabels
    from buildseg.engine.models import registry
    from buildseg.engine.train.dataset import RandomWindows, Scene
    from buildseg.engine.train.loop import BatchLoader
    from buildseg.engine.train.losses import make_loss

    dev = devices.resolve(args.device)
    if dev.type == "cpu":
        torch.set_num_threads(devices.cpu_threads())
    scenes = []
    for path in sorted(glob.glob(str(DATA / "dubai" / "scenes" / "tile[1-7]_part[0-9].tif")))[:12]:
        ds = ogr.Open(path.replace(".tif", "_buildings.gpkg"))
        layer = ds.GetLayer(0)
        shapes = [(json.loads(f.GetGeometryRef().ExportToJson()), 1) for f in layer]
        scenes.append(Scene(path, PolygonLabels(shapes)).open())
    windows = RandomWindows(scenes, [1, 2, 3], args.tile)
    mean, std = np.full((3, 1, 1), 100, np.float32), np.full((3, 1, 1), 50, np.float32)
    model = registry.build(args.arch, 3, 2).to(dev).train()
    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    loss_fn = make_loss("ce+dice")

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        with torch.autocast(dev.type, dtype=torch.float16, enabled=dev.type == "cuda"):
            loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()

    loader = BatchLoader(windows, args.tile, args.batch, mean, std, True, seed=0)  # what training uses

    def pipeline_batch():
        x, y = loader.get()
        return x.to(dev), y.to(dev)

    x0, y0 = pipeline_batch()
    step(x0, y0)  # warm-up
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step(x0, y0)
    model_only = args.steps * args.batch / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step(*pipeline_batch())
    with_data = args.steps * args.batch / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in range(args.steps):
        loader._make()  # the same work, not overlapped with training
    data_only = args.steps * args.batch / (time.perf_counter() - t0)
    loader.close()
    print(f"machine: {os.cpu_count()} cores, load average {load_average()}; device {devices.describe(dev)}")
    print(f"{args.arch}, {args.tile} px tiles, batch {args.batch}:")
    print(f"  model-only step:        {model_only:7.2f} tiles/s ({model_only * 3600:8.0f} tiles/h)")
    print(f"  with the data pipeline: {with_data:7.2f} tiles/s ({with_data * 3600:8.0f} tiles/h) = "
          f"{100 * with_data / model_only:.0f}% of model-only")
    print(f"  data pipeline alone:    {data_only:7.2f} tiles/s")


if __name__ == "__main__":
    main()
