"""BuildSeg engine: all the science, in one folder per stage (see README, "Engine layout").

core/ errors, progress, atomic writes, caches, memory, device, dependencies; io/ rasters, labels, dataset
layouts; models/ registry, encoders, decoders, the model file; extract/ plan, predictors, blending, resampling;
postprocess/ polygons, separation, regularization, CRF; train/; evaluation/; explain/ heatmaps and kernels;
weak/ pseudo-masks from weak labels; scaleout/ Dask blocks, cluster, DDP, torchrun.

Plain Python: no QGIS import anywhere in this package, relative imports only,
so it runs inside QGIS and in a plain interpreter alike. Heavy dependencies
(torch, onnxruntime) are imported lazily inside the functions that need them.
"""

import os

from .core.paths import PLUGIN_DIR  # noqa: E402,F401 - the folder installed as `buildseg`

# Spinning OpenMP threads make PyTorch crawl when the machine is busy (QGIS, other jobs):
# let them sleep. Must be set before torch is first imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .core.safe_imports import block_triton  # noqa: E402

# triton's LLVM crashes QGIS when Mesa's libLLVM is loaded (OpenGL desktops): see safe_imports.
block_triton()

from .core.errors import BuildSegError, Cancelled  # noqa: E402

__all__ = ["BuildSegError", "Cancelled"]
