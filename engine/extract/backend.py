"""Which backend runs the model when the choice is left to BuildSeg (backend 'auto').

On a CPU, static INT8 (ONNX Runtime, calibrated on the scene) runs the default model's tiles about 1.5x faster than
float32 and loses 0.24 building-IoU points over all measured places (docs/benchmarks.md, *INT8 for the default
model*). 'auto' takes it where that holds and pays: a BuildSeg model (its ONNX export can be quantized), a CPU
with VNNI int8 dot products (without them ONNX Runtime's unsigned-by-signed kernels can saturate, and the
accuracy above was not measured there), no adaptation of the model to the scene (that runs the float model),
and a scene large enough to earn back its calibration (2-4 s before the first tile).
"""

import os
import platform

# on the model's grid: INT8 with its calibration against float32, default model, 0.3 m scenes, this 2-core VM:
# 0.92x at 8.4 MP, 1.09x at 16.8 MP, 1.30x at 33.6 MP (docs/benchmarks.md, *INT8 for the default model*)
INT8_MIN_MEGAPIXELS = 16.0
VNNI_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")


def cpu_has_vnni(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether this x86-64 CPU has VNNI (AVX512-VNNI, AVX-VNNI or AMX): read from Linux's cpuinfo; False where
    it cannot be told (other systems, other architectures)."""
    if platform.machine().lower() not in ("x86_64", "amd64") or not os.path.exists(cpuinfo):
        return False
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith("flags"):
                    return any(flag in line.split() for flag in VNNI_FLAGS)
    except OSError:
        return False
    return False


def choose(backend: str, device_type: str, onnx_model: bool, adapt: bool, megapixels, imagery_share) -> tuple:
    """(backend to run, why) for the backend asked for: 'auto' on a CPU becomes 'onnxruntime-int8' where INT8
    holds and pays (module docstring), else stays as asked ('' for why). Callables, asked only when needed:
    `megapixels`, the run's extent on the model's grid; `imagery_share`, the share of it holding imagery (it
    reads the raster)."""
    if backend != "auto" or device_type != "cpu" or onnx_model or adapt or not cpu_has_vnni():
        return backend, ""
    model_megapixels = megapixels()
    if model_megapixels < INT8_MIN_MEGAPIXELS:
        return backend, ""
    model_megapixels *= imagery_share()
    if model_megapixels < INT8_MIN_MEGAPIXELS:
        return backend, ""
    return "onnxruntime-int8", (f"auto: INT8 for {model_megapixels:,.0f} MP of imagery on the model's grid on a CPU "
                                "with VNNI (choose backend onnxruntime for float32)")
