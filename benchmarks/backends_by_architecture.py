"""Bare forward speed of every registry architecture on one tile: ONNX Runtime (BuildSeg's CPU path) against
PyTorch eager (the naive loop's), as % of the machine's FLOP peak measured in the same run.

It shows how far the backend alone can carry the extraction's speed-up over a naive PyTorch loop for each
kind of network (random weights; speed does not depend on them).

    python benchmarks/backends_by_architecture.py [--tile 512] [--repeat 3]
"""

import argparse
import os
import tempfile
import time

import numpy as np
from common import flop_peak, import_plugin, load_average, model_gflops

import_plugin()

CONFIGS = [("unet-mobilenet", {}), ("resunet", {"backbone": "resnet18"}), ("resunet", {"backbone": "resnet34"}),
           ("unet", {"base": 16, "depth": 4}), ("unet", {"base": 32, "depth": 4}),
           ("deeplabv3plus", {"backbone": "resnet50"}), ("fcn8s", {})]


def seconds_per_call(fn, repeat: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tile", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import torch

    from buildseg.engine.core.device import cpu_threads
    from buildseg.engine.extract.predict import OnnxPredictor, cached_onnx
    from buildseg.engine.models import modelfile, registry

    torch.set_num_threads(cpu_threads())
    peak = flop_peak()
    print(f"machine: {os.cpu_count()} cores, load average {load_average()}; FLOP peak {peak['peak']:.1f} GFLOP/s")
    print("| architecture | GFLOP per tile | ONNX Runtime ms | % of peak | PyTorch eager ms | % of peak | ratio |")
    print("|---|---|---|---|---|---|---|")
    work = tempfile.mkdtemp(prefix="buildseg-arch-")
    x = np.random.default_rng(0).random((1, 3, args.tile, args.tile), dtype=np.float32)
    for i, (name, arch_params) in enumerate(CONFIGS):
        arch_params = {**registry.ARCHITECTURES[name].defaults, **arch_params}
        arch_params.pop("pretrained", None)
        info = modelfile.ModelInfo(architecture=name, in_channels=3, arch_params=arch_params, mean=[0.0] * 3,
                                   std=[1.0] * 3, tile_size=args.tile, resolution=1.0)
        path = os.path.join(work, f"model{i}.safetensors")
        modelfile.save(path, registry.build(name, 3, 2, arch_params), info)
        model, info = modelfile.load(path)
        gflop = model_gflops(model, 3, args.tile)
        ort = OnnxPredictor(cached_onnx(path, model, info, args.tile))
        t_ort = seconds_per_call(lambda: ort(x), args.repeat)  # noqa: B023 - called at once
        xt = torch.from_numpy(x)
        with torch.inference_mode():
            t_eager = seconds_per_call(lambda: model(xt), args.repeat)  # noqa: B023
        label = name + (f" {arch_params.get('backbone') or 'base ' + str(arch_params.get('base'))}")
        print(f"| {label} | {gflop:.1f} | {1000 * t_ort:.0f} | {100 * gflop / t_ort / peak['peak']:.0f}% | "
              f"{1000 * t_eager:.0f} | {100 * gflop / t_eager / peak['peak']:.0f}% | {t_eager / t_ort:.2f}x |",
              flush=True)


if __name__ == "__main__":
    main()
