"""Every registry architecture: parameters, GFLOPs of one 512 x 512 forward, CPU forward time (PyTorch eager,
batch 1, all cores, median of --repeat), and ONNX Runtime forward time for the light ones.

    python benchmarks/models.py [--size 512] [--repeat 3]
"""

import argparse
import os
import time

from common import import_plugin, load_average, model_gflops

import_plugin()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import torch

    from buildseg.engine.core.device import cpu_threads
    from buildseg.engine.models.registry import ARCHITECTURES

    torch.set_num_threads(cpu_threads())
    print(f"machine: {os.cpu_count()} cores, load average {load_average()}, torch {torch.__version__}")
    print(f"| architecture | defaults | parameters (M) | GFLOPs at {args.size}x{args.size} | CPU forward ms |")
    print("|---|---|---|---|---|")
    for name, arch in ARCHITECTURES.items():
        model = arch.build(3, 2).eval()
        params = sum(p.numel() for p in model.parameters()) / 1e6
        gflops = model_gflops(model, 3, args.size)
        x = torch.randn(1, 3, args.size, args.size)
        times = []
        with torch.inference_mode():
            model(x)
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                model(x)
                times.append(time.perf_counter() - t0)
        times.sort()
        defaults = ", ".join(f"{k}={v}" for k, v in arch.defaults.items())
        print(f"| `{name}` | {defaults} | {params:.1f} | {gflops:.0f} | {1000 * times[len(times) // 2]:.0f} |",
              flush=True)


if __name__ == "__main__":
    main()
