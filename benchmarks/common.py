"""Shared helpers for the benchmark scripts: import the plugin, check out another revision, make scenes, probe
the CPU's FLOP peak."""

import contextlib
import os
import subprocess  # nosec B404 - fixed git commands
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("BUILDSEG_DATA", ROOT.parent / "shared" / "data"))
DEFAULT_MODEL = ROOT / "resources" / "models" / "buildings-default.safetensors"
SAMPLE = ROOT / "resources" / "sample" / "sample.tif"

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def import_plugin() -> str:
    """Make the checkout importable as the `buildseg` package, whatever its folder is called; returns the
    folder to put on a child process's PYTHONPATH for the same."""
    import hashlib

    # one link folder per checkout: two checkouts running benchmarks at once must not flip each other's link
    tag = hashlib.md5(str(ROOT).encode()).hexdigest()[:8]  # nosec B324 - a folder name, not security
    link_dir = Path(tempfile.gettempdir()) / f"buildseg-bench-{os.getuid()}-{tag}"
    link_dir.mkdir(exist_ok=True)
    link = link_dir / "buildseg"
    if link.is_symlink() and link.resolve() != ROOT:  # the checkout moved
        link.unlink()
    if not link.exists():
        try:
            link.symlink_to(ROOT)
        except FileExistsError:  # a benchmark started at the same moment made it
            pass
    sys.path.insert(0, str(link_dir))
    return str(link_dir)


@contextlib.contextmanager
def revision_tree(rev: str):
    """A temporary git worktree of `rev` (its path), removed on leaving the block: another revision's code, to
    run in a process of its own beside this checkout's."""
    tree = tempfile.mkdtemp(prefix="buildseg-rev-")
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", tree, rev], check=True,
                   capture_output=True)  # nosec B603 B607
    try:
        yield tree
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", tree],
                       capture_output=True)  # nosec B603 B607


def synthetic_scene(path: str, size: int, res: float = 1.0) -> str:
    """A size x size RGB GeoTIFF tiled from the real sample scene (real content, any size), with `res` m
    pixels (at the bundled model's 0.3 m extraction reads it without resampling)."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    if os.path.exists(path):
        return path
    with rasterio.open(SAMPLE) as src:
        tile = src.read()
        crs = src.crs
    reps = -(-size // tile.shape[1])
    profile = {"driver": "GTiff", "width": size, "height": size, "count": 3, "dtype": "uint8", "crs": crs,
               "transform": from_origin(300000, 2800000, res, res), "tiled": True, "blockxsize": 256,
               "blockysize": 256, "compress": "deflate"}
    with rasterio.open(path, "w", **profile) as dst:
        strip = 512
        row_tile = np.tile(tile, (1, 1, reps))[:, :, :size]
        for y in range(0, size, strip):
            h = min(strip, size - y)
            rows = np.take(row_tile, np.arange(y, y + h) % tile.shape[1], axis=1)
            dst.write(rows, window=rasterio.windows.Window(0, y, size, h))
    return path


def flop_peak(rounds: int = 5, seconds: float = 0.4) -> dict:
    """GFLOP/s of fp32 probes on all cores: a large matmul and a 3x3 convolution in PyTorch, and a stack of
    3x3 convolutions in ONNX Runtime. Each probe runs `rounds` short rounds, interleaved, and keeps its best
    (this VM's speed varies from second to second); the peak is the best probe."""
    import onnxruntime as ort
    import torch

    from buildseg.engine.core.device import cpu_threads

    torch.set_num_threads(cpu_threads())
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    x, conv = torch.randn(1, 64, 256, 256), torch.nn.Conv2d(64, 64, 3, padding=1, bias=False)
    stack = torch.nn.Sequential(*[torch.nn.Conv2d(256, 256, 3, padding=1) for _ in range(4)]).eval()
    onnx_path = os.path.join(tempfile.mkdtemp(prefix="buildseg-probe-"), "convs.onnx")
    z = torch.randn(1, 256, 64, 64)
    torch.onnx.export(stack, (z,), onnx_path, input_names=["x"], dynamo=False)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = cpu_threads()
    session = ort.InferenceSession(onnx_path, opts, providers=["CPUExecutionProvider"])
    feed = {"x": z.numpy()}
    probes = {"matmul": (lambda: a @ b, 2 * 2048 ** 3),
              "conv3x3": (lambda: conv(x), 2 * 64 * 64 * 9 * 256 * 256),
              "onnxruntime conv3x3": (lambda: session.run(None, feed), 4 * 2 * 256 * 256 * 9 * 64 * 64)}
    out = dict.fromkeys(probes, 0.0)
    with torch.inference_mode():
        for _ in range(rounds):
            for name, (fn, flops) in probes.items():
                fn()
                n, t0 = 0, time.perf_counter()
                while time.perf_counter() - t0 < seconds:
                    fn()
                    n += 1
                out[name] = max(out[name], flops * n / (time.perf_counter() - t0) / 1e9)
    out["peak"] = max(out.values())
    return out


def model_gflops(model, in_channels: int, tile: int) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        model(torch.zeros(1, in_channels, tile, tile))
    return counter.get_total_flops() / 1e9


def load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def report_against(runs: dict, against: str, mp: float, what: str, detail) -> None:
    """Print this checkout's and the revision `against`'s median seconds and MP/s over their rounds (`runs`: name
    -> list of results with "seconds"; `detail(first result)` closes each line), then the speed ratio."""
    import statistics

    median = {}
    for name in ("this checkout", against):
        rs = runs[name]
        median[name] = statistics.median(r["seconds"] for r in rs)
        rounds = ", ".join(f"{r['seconds']:.2f}" for r in rs)
        print(f"  {name:>14}: {median[name]:6.2f} s, {mp / median[name]:6.2f} MP/s (rounds {rounds} s; "
              f"{detail(rs[0])})")
    print(f"  {what}, this checkout against {against}: {median[against] / median['this checkout']:.2f}x")
