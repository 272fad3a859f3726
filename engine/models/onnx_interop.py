"""ONNX both ways with Deepness and GeoDeep: export a BuildSeg model in their profile, and run their models.

Their convention: one input (batch, channels, height, width), float32 pixel values scaled to 0..1 (uint8 / 255);
one output of per-class probabilities; metadata properties whose values are JSON: `model_type` ("Segmentor"),
`class_names` ({"0": "background", ...}), `resolution` (centimetres per pixel), `tiles_size` / `tile_size`,
`tiles_overlap` (percent), `seg_thresh`. The Deepness profile puts BuildSeg's normalisation inside the graph,
so such a file runs in those tools as it does in BuildSeg, and carries the full BuildSeg header as `buildseg`.
"""

import json

from ..core.cache import PerFileVersion
from ..core.errors import BuildSegError, first_line
from .info import DEFAULT_CLASSES, ModelInfo
from .onnx_export import write_onnx

ARCHITECTURE = "onnx"  # ModelInfo.architecture of a model read from an ONNX file (runs with onnxruntime only)
DEEPNESS_SCALE = 255.0  # Deepness feeds raw / 255


def export_deepness(model, info: ModelInfo, path: str, overlap_pct: int = 15, threshold: float = 0.5) -> None:
    """`model` (logits) as a Deepness/GeoDeep segmentor: 0..1 input, normalisation and softmax inside; atomic."""
    import torch

    if info.normalisation == "scene":
        raise BuildSegError("This model standardises each scene by the scene's own band statistics, which Deepness "
                            "and GeoDeep cannot do (their models hold one fixed normalisation). Export it in the "
                            "BuildSeg profile, or choose a model normalised by its training data.")

    class Deepness(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net
            self.register_buffer("mean", torch.tensor(info.mean, dtype=torch.float32).view(1, -1, 1, 1))
            self.register_buffer("std", torch.tensor(info.std, dtype=torch.float32).view(1, -1, 1, 1))

        def forward(self, x):
            return torch.softmax(self.net((x * DEEPNESS_SCALE - self.mean) / self.std), dim=1)

    write_onnx(Deepness(model.cpu().float().eval()).eval(), info.in_channels, info.tile_size, path,
               ("input", "output"), deepness_metadata(info, overlap_pct, threshold))


def deepness_metadata(info: ModelInfo, overlap_pct: int, threshold: float) -> dict:
    meta = {"model_type": "Segmentor", "class_names": {str(i): c["name"] for i, c in enumerate(info.classes)},
            "tiles_size": info.tile_size, "tile_size": info.tile_size, "tiles_overlap": int(overlap_pct),
            "seg_thresh": float(threshold), "seg_small_segment": 7}
    if info.resolution:
        meta["resolution"] = round(info.resolution * 100, 3)  # cm per pixel
    out = {k: json.dumps(v) for k, v in meta.items()}
    out["buildseg"] = ModelInfo.from_dict({**json.loads(info.to_json()), "mean": [0.0] * info.in_channels,
                                           "std": [DEEPNESS_SCALE] * info.in_channels}).to_json()
    return out


def read_info(path: str) -> ModelInfo:
    """A ModelInfo for an ONNX file: BuildSeg's own exports, or Deepness/GeoDeep-style models (0..1 input)."""
    shape, meta = _header(path)
    channels = shape[1] if isinstance(shape[1], int) else None
    own = json.loads(meta["buildseg"]) if "buildseg" in meta else {}
    if own:  # BuildSeg's own exports: the header gives the input's normalisation (z-scores, or 0..1 for Deepness)
        info = ModelInfo.from_dict({**own, "architecture": ARCHITECTURE, "arch_params": {}})
        info.training = {**(info.training or {}), "exported_from": own.get("architecture")}
    else:
        info = _foreign_info(meta, channels, shape)
    fixed = [s for s in shape[2:] if isinstance(s, int)]
    if fixed:
        info.tile_size = fixed[0]
        info.arch_params["fixed_tile"] = fixed[0]
    info.training = {**(info.training or {}), "onnx_file": path}
    return info


def _header(path: str) -> tuple:
    """(input shape, custom metadata) of an ONNX file, read by ONNX Runtime once per version of the file (an
    extraction and its fit check read it several times; opening a session costs about 60 ms)."""
    try:
        shape, meta = _HEADERS(path)
    except OSError as exc:
        raise BuildSegError(f"{path} is not a readable ONNX model ({first_line(exc)}).") from None
    return list(shape), dict(meta)


def _read_header(path: str) -> tuple:
    try:
        import onnxruntime as ort

        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    except ImportError:
        raise BuildSegError("onnxruntime is not installed: run 'Check / install dependencies'.") from None
    except Exception as exc:
        raise BuildSegError(f"{path} is not a readable ONNX model ({first_line(exc)}).") from None
    inputs = session.get_inputs()
    if len(inputs) != 1 or len(inputs[0].shape) != 4:
        raise BuildSegError(f"{path}: BuildSeg runs ONNX segmentation models with one (batch, bands, height, "
                            "width) input; this one has a different input.")
    return list(inputs[0].shape), dict(session.get_modelmeta().custom_metadata_map)


_HEADERS = PerFileVersion(_read_header, size=16)


def _foreign_info(meta: dict, channels, shape) -> ModelInfo:
    def value(*keys):
        for k in keys:
            if k in meta:
                try:
                    return json.loads(meta[k])
                except ValueError:
                    return meta[k]
        return None

    assumed = []
    if not channels:
        assumed.append("3 input bands")
    channels = channels or 3
    names = value("class_names", "names")
    if isinstance(names, list) and all(isinstance(n, dict) for n in names):  # Deepness' [{"0": "coffee"}, ...]
        names = {k: v for n in names for k, v in n.items()}
    elif isinstance(names, list):  # ["background", "building"]
        names = {str(i): n for i, n in enumerate(names)}
    if isinstance(names, dict):
        classes = [{"id": i, "name": str(names[k]), "color": _colour(str(names[k]), i)}
                   for i, k in enumerate(sorted(names, key=int))]
    else:
        classes = [dict(c) for c in DEFAULT_CLASSES]
        assumed.append("classes background, building")
    if len(classes) == 1:  # a one-channel (sigmoid) segmentor: background is implied
        classes = [dict(DEFAULT_CLASSES[0]), {**classes[0], "id": 1}]
    resolution = value("resolution")
    tile = value("tiles_size", "tile_size") or next((s for s in shape[2:] if isinstance(s, int)), 512)
    if not meta:
        assumed.insert(0, "input scaled to 0..1 (8-bit values / 255, as Deepness and GeoDeep feed models)")
    if not resolution:
        assumed.append("no ground resolution (the imagery is used as it is)")
    return ModelInfo(architecture=ARCHITECTURE, in_channels=int(channels), classes=classes,
                     mean=[0.0] * int(channels), std=[DEEPNESS_SCALE] * int(channels), tile_size=int(tile),
                     resolution=float(resolution) / 100 if resolution else None,
                     training={"source": "ONNX model with Deepness/GeoDeep metadata" if meta else
                               "ONNX model without metadata", "assumed": assumed})


def check_output(predictor, info, tile: int, path: str) -> None:
    """Run one empty tile through an ONNX model: its output must be class scores of the tile's size, (batch,
    classes, tile, tile) with the classes it declares, else a clear refusal (not a broadcasting error later)."""
    import numpy as np

    try:
        out = predictor(np.zeros((1, info.in_channels, tile, tile), np.float32))
    except Exception as exc:  # onnxruntime's own refusal of the input
        raise BuildSegError(f"{path} does not run on a {tile} px tile of {info.in_channels} band(s) "
                            f"({first_line(exc)}).") from None
    if out.ndim != 4 or out.shape[0] != 1 or tuple(out.shape[2:]) != (tile, tile) or \
            out.shape[1] != info.num_classes:
        raise BuildSegError(f"{path}: its output has the shape {tuple(out.shape)} for one {tile} px tile; BuildSeg "
                            f"needs class scores of the tile's size, (batch, {info.num_classes} classes, {tile}, "
                            f"{tile}). Export the segmentation model with such an output (an upsampled, "
                            "per-class score map), or give its class names in the metadata.")


def _colour(name: str, i: int) -> str:
    if name.lower() in ("background", "bg", "other"):
        return "#00000000"
    return "#e31a1c" if "build" in name.lower() else ["#1f78b4", "#33a02c", "#ff7f00", "#6a3d9a"][i % 4]


def check_tile(info: ModelInfo, tile: int) -> None:
    fixed = info.arch_params.get("fixed_tile")
    if fixed and fixed != tile:
        raise BuildSegError(f"This ONNX model takes tiles of {fixed} px only: set the tile size to 0 (the model's).")
