"""Choose the torch device and describe it in one line for the log."""

import ctypes.util
import glob
import os
import sys

from .errors import BuildSegError


class CpuOnly:
    """The CPU, chosen without importing torch (about 480 MB of memory): for runs that need no torch, ONNX
    Runtime on CPU. It answers `.type` and `.index` as a torch.device does; `as_torch` turns it into one."""
    type = "cpu"
    index = None

    def __str__(self):
        return "cpu"


def no_gpu_here() -> bool:
    """No NVIDIA driver on this machine, so no torch build can use CUDA here (decided without importing torch)."""
    if sys.platform == "darwin":
        return True
    if sys.platform.startswith("linux"):
        return not (os.path.exists("/proc/driver/nvidia/version") or glob.glob("/dev/nvidia[0-9]*")
                    or os.path.exists("/dev/dxg"))  # WSL2 reaches the Windows driver through /dev/dxg
    if sys.platform == "win32":
        return ctypes.util.find_library("nvcuda") is None
    return False


def resolve_without_torch(choice: str = "auto"):
    """As resolve, but CpuOnly instead of importing torch where the answer is the CPU anyway ('cpu', or 'auto'
    with no NVIDIA driver) and torch is not loaded yet."""
    c = (choice or "auto").strip().lower()
    if "torch" not in sys.modules and (c == "cpu" or (c == "auto" and no_gpu_here())):
        return CpuOnly()
    return resolve(choice)


def as_torch(device):
    """A torch.device for a device of resolve or resolve_without_torch."""
    return resolve("cpu") if isinstance(device, CpuOnly) else device


def resolve(choice: str = "auto"):
    """A torch.device for 'auto', 'cpu', 'cuda' or 'cuda:N'.

    'auto' picks CUDA when available; an explicit CUDA choice where there is
    none is an error naming the fix.
    """
    import torch

    choice = (choice or "auto").strip().lower()
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cpu":
        return torch.device("cpu")
    if choice.startswith("cuda"):
        if not torch.cuda.is_available():
            raise BuildSegError(
                f"Device '{choice}' was requested but no CUDA GPU is usable here "
                f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'no'}). "
                "Choose device 'auto' or 'cpu', or install a CUDA build of torch and the NVIDIA driver.")
        dev = torch.device(choice)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise BuildSegError(
                f"Device '{choice}' does not exist: this machine has "
                f"{torch.cuda.device_count()} CUDA GPU(s), numbered from 0.")
        return dev
    raise BuildSegError(f"Unknown device '{choice}': use auto, cpu, cuda or cuda:N.")


def cpu_threads(requested: int = 0) -> int:
    """Threads to use on CPU: `requested` when above 0 (a run's own setting, passed explicitly), else the
    cores this process may use."""
    if requested and requested > 0:
        return int(requested)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def set_torch_threads(device, threads: int = 0) -> None:
    """On CPU, size torch's (process-wide) thread pool as cpu_threads(threads); nothing on CUDA."""
    if device.type == "cpu":
        import torch

        torch.set_num_threads(cpu_threads(threads))


def describe(device, threads: int = 0) -> str:
    """One line: GPU name and memory, or CPU threads (`threads` as for cpu_threads)."""
    if isinstance(device, CpuOnly):
        return f"CPU: {cpu_threads(threads)} threads of {os.cpu_count()} cores, without torch (ONNX Runtime)"
    import torch

    if device.type == "cuda":
        idx = device.index if device.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(idx)
        free, total = torch.cuda.mem_get_info(idx)
        return (f"CUDA GPU {idx}: {props.name}, {total / 2**30:.1f} GiB "
                f"({free / 2**30:.1f} GiB free), torch {torch.__version__}")
    return f"CPU: {cpu_threads(threads)} threads of {os.cpu_count()} cores, torch {torch.__version__}"
