"""The same-budget baseline for benchmarks/accuracy.py: a plain U-Net trained with a minimal loop (uniform
random windows, CE loss, Adam, no augmentation, no balancing, no schedule, no validation) on the same Dubai
training groups (Tiles 1-7) for a given wall time, saved as a BuildSeg model so the same extraction and
evaluation measure it.

    python benchmarks/baseline.py --seconds 600 --out /tmp/baseline.safetensors [--arch unet]
"""

import argparse
import glob
import time

import numpy as np
from common import DATA, import_plugin

import_plugin()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--arch", default="unet")
    ap.add_argument("--tile", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8)
    args = ap.parse_args()
    import rasterio
    import torch

    from buildseg.engine import modelfile
    from buildseg.engine.device import cpu_threads
    from buildseg.engine.models import registry

    torch.set_num_threads(cpu_threads())
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    images = sorted(glob.glob(str(DATA / "dubai" / "scenes" / "tile[1-7]_part[0-9].tif")))
    data = []
    for path in images:
        with rasterio.open(path) as img, rasterio.open(path[:-4] + "_classes.tif") as cls:
            c = cls.read(1)
            data.append((img.read().astype(np.float32) / 255.0, np.where(c == 0, 255, c == 1).astype(np.int64)))
    model = registry.build(args.arch, 3, 2).train()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    t0, steps = time.time(), 0
    while time.time() - t0 < args.seconds:
        xs, ys = [], []
        for _ in range(args.batch):
            img, lab = data[rng.integers(len(data))]
            r = rng.integers(0, img.shape[1] - args.tile + 1)
            c = rng.integers(0, img.shape[2] - args.tile + 1)
            xs.append(img[:, r:r + args.tile, c:c + args.tile])
            ys.append(lab[r:r + args.tile, c:c + args.tile])
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(np.stack(xs))),
                                                 torch.from_numpy(np.stack(ys)), ignore_index=255)
        loss.backward()
        opt.step()
        steps += 1
    info = modelfile.ModelInfo(architecture=args.arch, in_channels=3, mean=[0.0] * 3, std=[255.0] * 3,
                               tile_size=args.tile, resolution=1.0,
                               training={"baseline": "minimal loop", "steps": steps, "seconds": round(time.time() - t0),
                                         "epochs_run": None})
    modelfile.save(args.out, model.eval(), info)
    print(f"baseline {args.arch}: {steps} steps of {args.batch} x {args.tile} px in {time.time() - t0:.0f} s "
          f"-> {args.out}")


if __name__ == "__main__":
    main()
