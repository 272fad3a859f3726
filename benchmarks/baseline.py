"""The same-budget baseline for benchmarks/accuracy.py: a plain U-Net trained with a minimal loop (uniform
random windows, CE loss, Adam, no augmentation, no balancing, no schedule, no validation) on the same Dubai
training groups (Tiles 1-7) for a given wall time, saved as a BuildSeg model so the same extraction and
evaluation measure it.

    python benchmarks/baseline.py --seconds 600 --out /tmp/baseline.safetensors [--arch unet]
        [--pair IMAGE.tif LABELS.tif ...] [--threads N] [--base 16 --dice]

--base 16 --dice is the minimal loop of issue 41 (a 16-channel U-Net, cross-entropy + Dice): what
same_budget.py --far measures against.

--pair trains on other images instead of Dubai's: LABELS holds 0 background, 1 building, 255 unlabelled on the
image's grid; windows are drawn around labelled pixels (the loop stays minimal otherwise).
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
    ap.add_argument("--pair", nargs=2, action="append", metavar=("IMAGE", "LABELS"))
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--base", type=int, default=0, help="U-Net channels of the first level (0: the registry's)")
    ap.add_argument("--dice", action="store_true", help="cross-entropy + Dice loss instead of cross-entropy")
    args = ap.parse_args()
    import rasterio
    import torch

    from buildseg.engine.core.device import cpu_threads
    from buildseg.engine.models import modelfile, registry

    torch.set_num_threads(args.threads or cpu_threads())
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    pairs = args.pair or [(p, p[:-4] + "_classes.tif") for p in
                          sorted(glob.glob(str(DATA / "dubai" / "scenes" / "tile[1-7]_part[0-9].tif")))]
    data, resolution = [], 1.0
    for path, labels in pairs:
        with rasterio.open(path) as img, rasterio.open(labels) as cls:
            c = cls.read(1)
            lab = c if args.pair else np.where(c == 0, 255, c == 1)
            data.append((img.read([1, 2, 3]).astype(np.float32) / 255.0, lab.astype(np.int64)))
            resolution = abs(img.transform.a)
    centres = [np.argwhere(lab[:-args.tile + 1 or None, :-args.tile + 1 or None] != 255) for _, lab in data]
    model = registry.build(args.arch, 3, 2, {"base": args.base} if args.base else None).train()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    t0, steps = time.time(), 0
    while time.time() - t0 < args.seconds:
        xs, ys = [], []
        for _ in range(args.batch):
            k = rng.integers(len(data))
            img, lab = data[k]
            r, c = centres[k][rng.integers(len(centres[k]))]  # a window's corner on a labelled pixel
            xs.append(img[:, r:r + args.tile, c:c + args.tile])
            ys.append(lab[r:r + args.tile, c:c + args.tile])
        opt.zero_grad()
        logits, y = model(torch.from_numpy(np.stack(xs))), torch.from_numpy(np.stack(ys))
        loss = torch.nn.functional.cross_entropy(logits, y, ignore_index=255)
        if args.dice:  # soft Dice of the building class over the labelled pixels
            known = (y != 255).float()
            p, t = logits.softmax(1)[:, 1] * known, (y == 1).float() * known
            loss = loss + 1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1)
        loss.backward()
        opt.step()
        steps += 1
    info = modelfile.ModelInfo(architecture=args.arch, in_channels=3, mean=[0.0] * 3, std=[255.0] * 3,
                               arch_params={"base": args.base} if args.base else {},
                               tile_size=args.tile, resolution=resolution,
                               training={"baseline": "minimal loop", "steps": steps, "seconds": round(time.time() - t0),
                                         "epochs_run": None})
    modelfile.save(args.out, model.eval(), info)
    print(f"baseline {args.arch}: {steps} steps of {args.batch} x {args.tile} px in {time.time() - t0:.0f} s "
          f"-> {args.out}")


if __name__ == "__main__":
    main()
