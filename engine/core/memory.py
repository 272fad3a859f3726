"""Memory guard: estimate what a run needs, shrink the batch to fit, or refuse with a hint, before the OOM killer.

Estimates are deliberately generous (activations of a U-Net-like network at full resolution); the limit is
the memory the system reports available, or BUILDSEG_MEMORY_LIMIT (MiB) when set lower.
"""

import os

from .errors import BuildSegError

# float32 values alive per tile pixel at the peak of a forward pass (inference: torch; inference-onnx: ONNX
# Runtime, with the export traced at the tile size in the same process) / forward + backward (training),
# fitted on benchmarks/memory_estimate.py's measured peaks with a margin
FLOATS_PER_PIXEL = {"inference": 128, "inference-onnx": 640, "training": 1024}
RUNTIME_BYTES = 300 * 2**20  # the framework's own allocations at the first forward pass, whatever the tile
USABLE = 0.8  # of what is available: the rest stays for QGIS and the OS


def available_bytes() -> int:
    """Memory available to this process: MemAvailable, capped by BUILDSEG_MEMORY_LIMIT (MiB); None if unknown."""
    found = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    limit = os.environ.get("BUILDSEG_MEMORY_LIMIT", "")
    if limit.isdigit():
        found = min(found or 2**62, int(limit) * 2**20)
    return found


def peak_rss_mib() -> float:
    """This process's peak resident memory (MiB) since it started its program: VmHWM. (getrusage's
    ru_maxrss also counts the parent's memory at fork time, which Linux carries across exec.)"""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def gpu_available_bytes(device) -> int:
    import torch

    free, _ = torch.cuda.mem_get_info(device.index if device.index is not None else torch.cuda.current_device())
    return free


def tile_bytes(tile: int, in_channels: int, kind: str = "inference") -> int:
    return tile * tile * (FLOATS_PER_PIXEL[kind] + in_channels) * 4


def inference_kind(backend: str, device) -> str:
    onnx = backend.startswith("onnxruntime") or (backend == "auto" and device.type == "cpu")
    return "inference-onnx" if onnx else "inference"


def fit_batch(tile: int, batch: int, in_channels: int, fixed_bytes: int, progress, device=None,
              kind: str = "inference") -> int:
    """The largest batch <= `batch` whose estimate fits (with `fixed_bytes` of buffers); refuse if 1 does not."""
    on_gpu = device is not None and device.type == "cuda"
    available = gpu_available_bytes(device) if on_gpu else available_bytes()
    if available is None:
        return batch
    budget = available * USABLE - (0 if on_gpu else fixed_bytes + RUNTIME_BYTES)
    per = tile_bytes(tile, in_channels, kind)
    fits = int(budget // per) if budget > 0 else 0
    where = "GPU memory" if on_gpu else "memory"
    if fits < 1:
        need = (per + (0 if on_gpu else fixed_bytes + RUNTIME_BYTES)) / 2**20
        raise BuildSegError(
            f"Not enough {where}: a {tile} px tile needs about {need:.0f} MiB but {available / 2**20:.0f} MiB "
            f"are available. Use a smaller tile size (e.g. {max(64, tile // 2)} px), close other programs, "
            "or run on another device.")
    if fits < batch:
        progress.warn(f"Batch size {batch} would need about {batch * per / 2**20:.0f} MiB of {where} "
                      f"({available / 2**20:.0f} MiB available): using batch size {fits}.")
        return fits
    return batch


def split_on_oom(fn, progress):
    """Wrap a batch function: on CUDA out-of-memory, run the batch in halves (down to one tile)."""
    import numpy as np

    warned = []

    def run(batch):
        try:
            return fn(batch)
        except Exception as exc:  # torch.cuda.OutOfMemoryError, without importing torch here
            if type(exc).__name__ != "OutOfMemoryError":
                raise
            _empty_cuda_cache()
            if len(batch) == 1:
                raise BuildSegError("The GPU ran out of memory on a single tile: use a smaller tile size or "
                                    "device cpu.") from None
            if not warned:
                progress.warn(f"GPU out of memory on a batch of {len(batch)}: retrying in smaller batches.")
                warned.append(True)
            half = len(batch) // 2
            return np.concatenate([run(batch[:half]), run(batch[half:])])

    return run


def _empty_cuda_cache():
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
