"""Self-describing model files: safetensors weights plus a JSON header.

The file is a plain safetensors file (no pickle, nothing executed on load);
its `__metadata__` holds {"buildseg": <JSON of ModelInfo>}.
"""

import json
import os
import struct

from ..core.atomic import atomic_path
from ..core.errors import BuildSegError, first_line
from . import onnx_interop, registry
from .info import DEFAULT_CLASSES, FORMAT, FORMAT_VERSION, ModelInfo  # noqa: F401 - re-exported: the file's header


def describe(info: "ModelInfo") -> str:
    """One line a user can choose a model by: architecture, bands, resolution, classes, score."""
    res = f"{info.resolution:g} m" if info.resolution else "any resolution"
    classes = ", ".join(c["name"] for c in info.classes if c["name"] != "background")
    score = (info.metrics or {}).get("validation_score")
    tiles = (info.metrics or {}).get("validation_tiles")
    quality = f", validation IoU {score:.2f}" + (f" ({tiles} tiles)" if tiles else "") \
        if isinstance(score, (int, float)) and score >= 0 else ""
    return f"{info.architecture}, {info.in_channels} band(s), {res}, {classes}{quality}"


def details(info: "ModelInfo", licences: bool = True) -> str:
    """Several lines for a model's description panel: what it is, what it was trained on, how good it is (and
    under which licences, unless `licences` is False)."""
    names = ", ".join(c["name"] for c in info.classes)
    res = f"{info.resolution:g} m" if info.resolution else "any resolution"
    lines = [f"{info.architecture}, {info.in_channels} band(s) {info.bands}, {res}, tile {info.tile_size} px",
             f"Classes: {names}"]
    score = (info.metrics or {}).get("validation_score")
    if isinstance(score, (int, float)) and score >= 0:
        tiles, where = (info.metrics or {}).get("validation_tiles"), (info.metrics or {}).get("validation_rasters")
        size = f" on {tiles} tile(s) of {', '.join(where[:2])}{' …' if len(where) > 2 else ''} (its own " \
            "validation: not comparable with another model's figure)" if tiles and where else ""
        lines.append(f"Validation building IoU: {score:.3f}{size}")
    lines += test_lines((info.metrics or {}).get("test") or {})
    t = info.training or {}
    if t.get("fine_tuned_from"):
        lines.append(f"Fine-tuned from {t['fine_tuned_from']}")
    if t.get("rasters"):
        shown = ", ".join(t["rasters"][:4]) + (f" and {len(t['rasters']) - 4} more" if len(t["rasters"]) > 4 else "")
        lines.append(f"Trained on: {shown}")
    if t.get("fine_tuned_from") and (t.get("fit_check") or {}).get("fit_verdict"):  # from scratch: no model to fit
        lines.append(f"Starting model's fit before training: {t['fit_check']['fit_verdict']}")
    for key in ("licences", "licence") if licences else ():
        if t.get(key):
            lines.append("Licences: " + (t[key] if isinstance(t[key], str) else "; ".join(map(str, t[key]))))
    return "\n".join(lines)


# what a place of metrics.test.per_place was (benchmarks/accuracy.py): the cities first, the easier cells after
TEST_GROUPS = (("unseen city", "on cities it never trained on"),
               ("test cells", "on held-out cells of the places it trained on"))


def test_lines(test: dict) -> list:
    """The test figures for a description: a mean per kind of place when the places say what they were (cities the
    model never trained on lead), else the one mean the file holds."""
    places = [p for p in (test.get("per_place") or {}).values() if isinstance(p.get("building_iou"), (int, float))]
    lines = []
    for kind, words in TEST_GROUPS:
        scores = [p["building_iou"] for p in places if p.get("evaluated_on") == kind]
        if scores:
            lines.append(f"Building IoU {words}: {sum(scores) / len(scores):.3f} (mean of {len(scores)})")
    if not lines and isinstance(test.get("mean_building_iou"), (int, float)):
        lines.append(f"Mean building IoU on places it never trained on: {test['mean_building_iou']:.3f}")
    return lines


def catalogue(paths) -> list:
    """[(path, file name, description)] of the readable BuildSeg models among `paths` (others skipped)."""
    out = []
    for path in paths:
        try:
            out.append((path, os.path.basename(path), describe(read_info(path))))
        except BuildSegError:
            continue
    return out


def _read_header(path: str) -> dict:
    if not os.path.isfile(path):
        raise BuildSegError(f"Model file not found: {path}")
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        n = struct.unpack("<Q", head)[0] if len(head) == 8 else 0
        header = None
        if 2 <= n <= min(size - 8, 100_000_000):
            try:
                header = json.loads(f.read(n))
            except (ValueError, UnicodeDecodeError):
                header = None
    if not isinstance(header, dict):
        if head[:1] == b"\x80" or head[:4] == b"PK\x03\x04":
            raise BuildSegError(
                f"{path} is a pickled PyTorch checkpoint, not a BuildSeg model file. BuildSeg never loads "
                "pickles (they can run code); use a BuildSeg .safetensors model (train one, or fine-tune with "
                "'Train building model').")
        raise BuildSegError(f"{path} is not a BuildSeg model file (no safetensors header). Choose a "
                            ".safetensors model made by BuildSeg's 'Train building model'.")
    end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
    if 8 + n + end > size:
        raise BuildSegError(f"Model file {path} is truncated ({size} of {8 + n + end} bytes): copy it again "
                            "or retrain.")
    return header


def read_info(path: str) -> ModelInfo:
    """The model's metadata, validated; reads only the header. ONNX files are described by engine.onnx_interop."""
    if str(path).lower().endswith(".onnx"):
        info = onnx_interop.read_info(path)
        _check_normalisation(path, info)
        return info
    meta = (_read_header(path).get("__metadata__") or {}).get("buildseg")
    if not meta:
        raise BuildSegError(f"{path} is a safetensors file but not a BuildSeg model (no 'buildseg' metadata).")
    try:
        data = json.loads(meta)
    except ValueError:
        raise BuildSegError(f"{path}: the BuildSeg metadata is not valid JSON; the file is damaged.") from None
    if data.get("format") != FORMAT:
        raise BuildSegError(f"{path} is not a BuildSeg model file (format '{data.get('format')}').")
    version = int(data.get("format_version", 0))
    if version > FORMAT_VERSION:
        raise BuildSegError(f"{path} was written by a newer BuildSeg (model format {version}; this plugin reads "
                            f"up to {FORMAT_VERSION}). Update the BuildSeg plugin.")
    try:
        info = ModelInfo.from_dict(data)
    except TypeError as exc:
        raise BuildSegError(f"{path}: incomplete BuildSeg metadata ({exc}).") from None
    _check_normalisation(path, info)
    _check_geometry(path, info)
    return info


def _check_geometry(path: str, info: ModelInfo) -> None:
    """Tile size: a whole number of pixels, 1 to 8192; resolution: none or a positive number of metres."""
    tile, res = info.tile_size, info.resolution
    if isinstance(tile, bool) or not isinstance(tile, int) or not 1 <= tile <= 8192:
        raise BuildSegError(f"{path}: the model's tile size {tile!r} is not a number of pixels from 1 to 8192; the "
                            "file is damaged: retrain or re-export it.")
    if res is not None and not (isinstance(res, (int, float)) and res >= 0 and res == res):
        raise BuildSegError(f"{path}: the model's resolution {res!r} is not a ground resolution in metres; the "
                            "file is damaged: retrain or re-export it.")


def _check_normalisation(path: str, info: ModelInfo) -> None:
    """Mean and std: one finite number per band, std > 0 (else every probability would be NaN)."""
    import math

    for name in ("mean", "std"):
        values = getattr(info, name)
        if len(values) != info.in_channels or not all(isinstance(v, (int, float)) and math.isfinite(v)
                                                      for v in values):
            raise BuildSegError(f"{path}: the model's normalisation {name} {values} is not one finite number per "
                                f"band ({info.in_channels}); the file is damaged: retrain or re-export it.")
    if min(info.std) <= 0:
        raise BuildSegError(f"{path}: the model's normalisation standard deviation {info.std} has a zero or "
                            "negative value, which would make every probability NaN; the file is damaged: retrain "
                            "or re-export it.")


def save(path: str, model, info: ModelInfo, half: bool = False) -> None:
    """Write weights and metadata atomically; `half` stores float tensors as fp16."""
    import torch
    from safetensors.torch import save_file

    state = {}
    for k, v in model.state_dict().items():
        v = v.detach().to("cpu").contiguous()
        if half and v.is_floating_point():
            v = v.half()
        state[k] = v
    with atomic_path(path) as tmp:
        save_file(state, tmp, metadata={"buildseg": info.to_json(), "framework": f"torch {torch.__version__}"})


def build_model(info: ModelInfo, pretrained: bool = False):
    """The architecture of `info`, untrained; `pretrained`: start the encoder from ImageNet weights when they
    are available (training from scratch), else random (a model file's weights follow)."""
    arch = registry.get(info.architecture)
    extra = {"pretrained": pretrained} if arch.backbone else {}
    return arch.build(info.in_channels, info.num_classes, **{**info.arch_params, **extra})


def load(path: str, device="cpu"):
    """(model in eval mode on `device`, ModelInfo); weights loaded without pickle."""
    from safetensors.torch import load_file

    info = read_info(path)
    if info.architecture == "onnx":
        raise BuildSegError(f"{path} is an ONNX model: it extracts buildings, but fine-tuning, Grad-CAM and "
                            "kernel views need the weights of a BuildSeg .safetensors model.")
    model = build_model(info)
    try:
        state = load_file(path, device="cpu")
    except Exception as exc:
        raise BuildSegError(f"Cannot read the weights of {path}: {exc}") from None
    ref = model.state_dict()
    state = {k: v.to(ref[k].dtype) if k in ref else v for k, v in state.items()}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise BuildSegError(f"{path}: the weights do not match architecture '{info.architecture}' "
                            f"({first_line(exc)}).") from None
    return model.to(device).eval(), info
