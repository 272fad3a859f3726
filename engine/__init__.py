"""BuildSeg engine: models, tiling, training, inference, vectorizing.

Plain Python: no QGIS import anywhere in this package, relative imports only,
so it runs inside QGIS and in a plain interpreter alike. Heavy dependencies
(torch, onnxruntime) are imported lazily inside the functions that need them.
"""

import os

# Spinning OpenMP threads make PyTorch crawl when the machine is busy (QGIS, other jobs):
# let them sleep. Must be set before torch is first imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .safe_imports import block_triton  # noqa: E402

# triton's LLVM crashes QGIS when Mesa's libLLVM is loaded (OpenGL desktops): see safe_imports.
block_triton()

from .errors import BuildSegError, Cancelled  # noqa: E402

__all__ = ["BuildSegError", "Cancelled"]
