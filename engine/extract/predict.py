"""Model backends behind one call: float32 NCHW batch in, class probabilities out.

ONNX Runtime is the CPU default (much closer to the CPU's FLOP peak than PyTorch
eager); PyTorch is the CUDA path (mixed precision, channels_last) and the fallback.
"""

import hashlib
import os
import threading

import numpy as np

from ..core.atomic import atomic_path
from ..core.cache import cache_dir, model_sha256
from ..core.device import cpu_threads, set_torch_threads
from ..core.errors import BuildSegError
from ..models.onnx_export import Softmax, export_onnx  # noqa: F401 - export_onnx: the extraction cache's exporter

BACKENDS = ["auto", "onnxruntime", "torch", "onnxruntime-int8"]
_EXPORT_LOCK = threading.Lock()


def _onnx_cache_entry(model_path: str, info, tile: int = None) -> str:
    return os.path.join(cache_dir(), f"{model_sha256(model_path)[:24]}-{tile or info.tile_size}.onnx")


def cached_onnx_path(model_path: str, info, tile: int = None) -> "str | None":
    """The cached ONNX export of a model file for `tile` px tiles when there is a readable one (None: not yet)."""
    path = _onnx_cache_entry(model_path, info, tile)
    with _EXPORT_LOCK:
        return path if os.path.exists(path) and onnx_readable(path) else None


def cached_onnx(model_path: str, model, info, tile: int = None) -> str:
    """The ONNX export of a model file for `tile` px tiles, in the cache, re-exported when the file changes."""
    tile = tile or info.tile_size
    path = _onnx_cache_entry(model_path, info, tile)
    with _EXPORT_LOCK:
        if os.path.exists(path) and not onnx_readable(path):
            os.remove(path)  # a partial or corrupt entry (disk full, killed copy): rebuilt below
        if not os.path.exists(path):
            export_onnx(model, info, path, tile)
    return path


def onnx_readable(path: str, buildseg_export: bool = True) -> bool:
    """Whether a cached ONNX file loads, passes the checker and (by default) carries BuildSeg's metadata."""
    try:
        import onnx

        proto = onnx.load(path)
        onnx.checker.check_model(proto)
        return not buildseg_export or any(p.key == "buildseg" for p in proto.metadata_props)
    except Exception:
        return False


def cached_int8(model_path: str, model, info, calibration, key: str, tile: int = None) -> str:
    """A static INT8 (QDQ, per-channel) quantization of the model's ONNX export, calibrated on
    `calibration` (a list of normalised (1, C, H, W) tiles); cached per model file and `key`. `model` (torch)
    is needed only where the ONNX export is not cached yet (None otherwise)."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    fp32 = cached_onnx(model_path, model, info, tile)
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    path = fp32[:-5] + f".int8-{digest}.onnx"
    if os.path.exists(path) and onnx_readable(path, buildseg_export=False):
        return path

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter(calibration)

        def get_next(self):
            item = next(self.items, None)
            return None if item is None else {"image": np.ascontiguousarray(item, dtype=np.float32)}

    with _EXPORT_LOCK, atomic_path(path) as tmp:
        pre = tmp[:-5] + ".pre.onnx"
        try:
            quant_pre_process(fp32, pre, skip_symbolic_shape=True)
            quantize_static(pre, tmp, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        finally:
            if os.path.exists(pre):
                os.remove(pre)
    return path


class TorchPredictor:
    name = "torch"

    def __init__(self, model, device, threads: int = 0):
        import torch

        self.torch, self.device = torch, device
        self.net = Softmax.wrap(model).to(device)
        if device.type == "cuda":
            self.net = self.net.to(memory_format=torch.channels_last)
        set_torch_threads(device, threads)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        torch = self.torch
        x = torch.from_numpy(np.ascontiguousarray(batch)).to(self.device)
        with torch.inference_mode():
            if self.device.type == "cuda":
                x = x.to(memory_format=torch.channels_last)
                with torch.autocast("cuda", dtype=torch.float16):
                    y = self.net(x)
            else:
                y = self.net(x)
        return y.float().cpu().numpy()


class OnnxPredictor:
    name = "onnxruntime"

    def __init__(self, onnx_path: str, threads: int = None):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = cpu_threads(threads or 0)
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # idle pool threads sleep instead of spinning: the CPU goes to the stage that writes finished rows
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(onnx_path, opts, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name  # "image" in BuildSeg's exports; any name in others'

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        y = self.session.run(None, {self.input: np.ascontiguousarray(batch, dtype=np.float32)})[0]
        return np.concatenate([1 - y, y], axis=1) if y.shape[1] == 1 else y  # one-channel (sigmoid) models


def int8_predictor(onnx_path: str, threads: int = 0) -> OnnxPredictor:
    """A predictor of an INT8 quantization made by cached_int8, named for the logs and results."""
    predictor = OnnxPredictor(onnx_path, threads)
    predictor.name = "onnxruntime-int8"
    return predictor


def make_predictor(model_path: str, model, info, device, backend: str = "auto", calibration=None,
                   tile: int = None, threads: int = 0):
    """Pick the backend: ONNX Runtime on CPU unless told otherwise, torch on CUDA. ONNX predictors take
    `tile` px tiles only (default: the model's tile size); on CPU they use `threads` (see cpu_threads).

    'onnxruntime-int8' needs `calibration`: (key, callable returning normalised tiles).
    """
    if backend not in BACKENDS:
        raise BuildSegError(f"Unknown backend '{backend}': use {', '.join(BACKENDS)}.")
    if backend.startswith("onnxruntime") and device.type == "cuda":
        raise BuildSegError("The onnxruntime backends run on CPU here; choose backend 'torch' for CUDA.")
    if backend == "onnxruntime-int8":
        key, tiles = calibration
        return int8_predictor(cached_int8(model_path, model, info, tiles(), key, tile), threads)
    use_onnx = backend == "onnxruntime" or (backend == "auto" and device.type == "cpu")
    if use_onnx:
        try:
            return OnnxPredictor(cached_onnx(model_path, model, info, tile), threads)
        except ImportError:
            if backend == "onnxruntime":
                raise BuildSegError("onnxruntime is not installed: run 'Check / install dependencies'.") from None
    return TorchPredictor(model, device, threads)


TTA_MODES = ["none", "flips", "d4"]


def _d4(k: int, transpose: bool):
    def fwd(a):
        return np.rot90(np.swapaxes(a, 2, 3) if transpose else a, k, axes=(2, 3))

    def inv(a):
        a = np.rot90(a, -k, axes=(2, 3))
        return np.swapaxes(a, 2, 3) if transpose else a

    return fwd, inv


def tta_transforms(mode: str):
    """(forward, inverse) pairs on NCHW arrays: identity, the two flips, or all 8 of D4."""
    if mode == "none":
        return [_d4(0, False)]
    if mode == "flips":
        hflip = (lambda a: a[..., ::-1], lambda a: a[..., ::-1])
        vflip = (lambda a: a[..., ::-1, :], lambda a: a[..., ::-1, :])
        return [_d4(0, False), hflip, vflip]
    return [_d4(k, t) for t in (False, True) for k in range(4)]


def predict_tta(predictor, batch: np.ndarray, mode: str = "none") -> np.ndarray:
    """Mean probability over the test-time augmentations of `mode`."""
    if mode not in TTA_MODES:
        raise BuildSegError(f"Unknown test-time augmentation '{mode}': use {', '.join(TTA_MODES)}.")
    total = None
    transforms = tta_transforms(mode)
    for fwd, inv in transforms:
        out = inv(predictor(np.ascontiguousarray(fwd(batch))))
        total = out if total is None else total + out
    return total / len(transforms)
