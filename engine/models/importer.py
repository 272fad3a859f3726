"""Other people's weights in: a TorchGeo or segmentation_models.pytorch state dict becomes a self-describing
BuildSeg model file.

State dicts are read without running code: safetensors, or `torch.load(weights_only=True)` (tensors and plain
containers only). Lightning checkpoints (TorchGeo trainers) are unwrapped ("state_dict", "model." prefix);
encoder-only weights (keys without a decoder) fill the encoder and leave the decoder to fine-tuning.
"""

from dataclasses import dataclass, field

from ..core.errors import BuildSegError, first_line
from . import modelfile, stac

PREFIXES = ("model.", "module.", "net.")
HEADS = ("fc.", "classifier.", "head.")  # image-classification heads of backbone weights


@dataclass
class ImportSpec:
    arch: str = "unet"  # segmentation_models.pytorch architecture: unet, unetplusplus, fpn, deeplabv3plus, ...
    encoder: str = "resnet34"
    bands: list = field(default_factory=lambda: [1, 2, 3])  # 1-based raster bands, in the network's order
    mean: list = None  # per band, raw raster units
    std: list = None
    classes: list = field(default_factory=lambda: ["background", "building"])
    resolution: float = None  # metres per pixel the weights were trained at
    tile_size: int = 512
    source: str = ""  # where the weights come from (URL, paper, licence)


def read_state(path: str) -> dict:
    """{name: tensor} from a .safetensors file or a weights-only PyTorch file."""
    import torch

    if path.lower().endswith(".safetensors"):
        from safetensors.torch import load_file

        try:
            return load_file(path)
        except Exception as exc:
            raise BuildSegError(f"Cannot read {path} as safetensors ({exc}).") from None
    import os

    if os.path.getsize(path) == 0:
        raise BuildSegError(f"{path} is empty (0 bytes): the download or copy did not finish; fetch the weights "
                            "again.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # weights_only refuses anything that would run code
        raise BuildSegError(f"{path} is not a plain PyTorch state dict ({first_line(exc)}); BuildSeg reads weights "
                            "only, never pickled code.") from None
    return unwrap(state)


def unwrap(state) -> dict:
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    tensors = {k: v for k, v in state.items() if hasattr(v, "shape")} if isinstance(state, dict) else {}
    if not tensors:
        raise BuildSegError("The file holds no tensors: give a state dict (name -> tensor).")
    for prefix in PREFIXES:
        if all(k.startswith(prefix) for k in tensors):
            tensors = {k[len(prefix):]: v for k, v in tensors.items()}
    return tensors


def import_weights(path: str, spec: ImportSpec, out: str, progress=None) -> dict:
    """Write `out` (BuildSeg model) from the weights in `path`; returns {"loaded", "encoder_only", ...}."""
    import torch

    n = len(spec.bands)
    mean = spec.mean or [0.0] * n
    std = spec.std or [255.0] * n
    if len(mean) != n or len(std) != n or any(s <= 0 for s in std):
        raise BuildSegError(f"Give one mean and one std (> 0) per band: {n} band(s), {len(mean)} mean(s), "
                            f"{len(std)} std(s).")
    state = read_state(path)
    classes = [{"id": i, "name": c, "color": "#00000000" if i == 0 else "#e31a1c"} for i, c in
               enumerate(spec.classes)]
    info = modelfile.ModelInfo(architecture="smp", in_channels=n, classes=classes,
                               arch_params={"arch": spec.arch, "encoder": spec.encoder}, bands=list(spec.bands),
                               mean=mean, std=std, tile_size=spec.tile_size, resolution=spec.resolution,
                               training={"imported_from": path, "source": spec.source,
                                         "note": "weights imported by BuildSeg's Import weights"})
    try:
        model = modelfile.build_model(info)
    except BuildSegError:
        raise
    except Exception as exc:
        raise BuildSegError(f"segmentation_models.pytorch cannot build '{spec.arch}' on '{spec.encoder}' "
                            f"({exc}).") from None
    encoder_only = not any(k.startswith(("decoder.", "segmentation_head.")) for k in state)
    if encoder_only:  # backbone weights (TorchGeo, timm): the encoder's names, classifier head dropped
        state = {k[len("encoder."):] if k.startswith("encoder.") else k: v for k, v in state.items()
                 if not k.startswith(HEADS)}
    target = model.encoder if encoder_only else model
    _check_shapes(target.state_dict(), state, spec, encoder_only)
    missing = len(set(target.state_dict()) - set(state))  # names checked above; an encoder may lack a few
    target.load_state_dict(state, strict=not encoder_only)
    info.training["encoder_only"] = encoder_only
    with torch.no_grad():
        model.eval()(torch.zeros(1, n, 64, 64))  # the network runs with these weights
    modelfile.save(out, model, info)
    stac.write_item(out, info, model)
    return {"loaded": len(state), "encoder_only": encoder_only, "missing": missing}


def _check_shapes(expected: dict, state: dict, spec: ImportSpec, encoder_only: bool) -> None:
    unknown = [k for k in state if k not in expected]
    if unknown:
        raise BuildSegError(f"'{unknown[0]}' (and {len(unknown) - 1} more) are not weights of smp "
                            f"{spec.arch} on {spec.encoder}: choose the architecture and encoder the weights "
                            "were trained with.")
    if not encoder_only:
        missing = [k for k in expected if k not in state]
        if missing:
            raise BuildSegError(f"The file lacks '{missing[0]}' (and {len(missing) - 1} more weights) of smp "
                                f"{spec.arch} on {spec.encoder}.")
    for k, v in state.items():
        if tuple(v.shape) != tuple(expected[k].shape):
            hint = ""
            if k.endswith("weight") and v.dim() == 4 and tuple(v.shape[2:]) == tuple(expected[k].shape[2:]):
                if v.shape[1] != expected[k].shape[1]:
                    hint = f" The weights take {v.shape[1]} band(s): give that many bands."
                elif v.shape[0] != expected[k].shape[0]:
                    hint = f" The weights predict {v.shape[0]} class(es): name that many classes."
            raise BuildSegError(f"Weight '{k}' has shape {tuple(v.shape)}, the network expects "
                                f"{tuple(expected[k].shape)}.{hint}")
