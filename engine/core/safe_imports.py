"""Keep triton out of the process.

torch's CUDA wheels pull in triton, and `import torchvision` loads it (torch's
compiler stack probes for it). triton bundles its own LLVM, which crashes the
process (signal 11) when Mesa's libLLVM is already loaded, as it is in every
QGIS desktop that draws with OpenGL. BuildSeg never uses `torch.compile` or
triton kernels, so the engine hides triton before torch is first imported:
`import triton` then raises ImportError and torch falls back to its eager
kernels, on CPU and CUDA alike.
"""

import sys


def block_triton() -> bool:
    """Hide triton from this process; False when it was already imported (too late to block)."""
    loaded = sys.modules.get("triton", False)
    if loaded is None:
        return True
    if loaded is not False:
        return False
    sys.modules["triton"] = None  # import machinery: "import of triton halted"; find_spec -> None
    return True


def triton_blocked() -> bool:
    return "triton" in sys.modules and sys.modules["triton"] is None
