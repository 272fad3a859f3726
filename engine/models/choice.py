"""Which of the bundled models suits an input: the one whose training imagery covers the input's ground
resolution. Every model runs at its own resolution (the input is resampled), but resampling cannot add what
coarse imagery lacks: a model taught on 0.08-0.5 m imagery has never seen what 1 m imagery looks like once it
is upsampled. Model files record the range of their training imagery (`training["imagery_resolution_m"]`,
written by training); the first candidate is the default and is kept unless another's training range is
nearer to the input's resolution. MODEL=auto asks for this choice.
"""

import math
import os

from ..core.errors import BuildSegError
from ..io.resample import ground_metres
from . import modelfile

SCALE_MARGIN = 1.25  # training's scale augmentation (windows of 0.75-1.25 tiles) widens the range a model has seen


def imagery_range(info) -> "tuple | None":
    """(finest, coarsest) ground resolution in metres of the imagery a model was trained on; None if unknown."""
    span = (info.training or {}).get("imagery_resolution_m")
    if not span or len(span) != 2 or not all(isinstance(v, (int, float)) and v > 0 for v in span):
        return None
    return float(min(span)), float(max(span))


def distance(span, resolution_m: float) -> float:
    """0 when `resolution_m` lies in the training range (widened by SCALE_MARGIN), else the log ratio to its
    nearer end; infinite for a model that does not say what it was trained on."""
    if span is None:
        return math.inf
    lo, hi = span[0] / SCALE_MARGIN, span[1] * SCALE_MARGIN
    return 0.0 if lo <= resolution_m <= hi else min(abs(math.log(resolution_m / lo)), abs(math.log(resolution_m / hi)))


def choose(candidates: list, resolution_m: float) -> "tuple[str, str]":
    """(model path, why) for imagery at `resolution_m`: the first candidate (the default) unless another's
    training imagery is strictly nearer to it."""
    scored = []
    for path in candidates:
        try:
            span = imagery_range(modelfile.read_info(path))
        except BuildSegError:  # an unreadable candidate is skipped; extraction reports a bad chosen file itself
            continue
        scored.append((distance(span, resolution_m), path, span))
    if not scored:
        raise BuildSegError("No readable bundled model to choose from: reinstall the plugin.")
    _, path, span = min(scored, key=lambda s: s[0])  # min keeps the first (the default) on ties
    trained = f"trained on {span[0]:.2g}-{span[1]:.2g} m imagery" if span else "no training range recorded"
    return path, f"{os.path.basename(path)} for {resolution_m:.2f} m imagery ({trained})"


def bundled_models(default: str) -> list:
    """The default model first, then the other bundled .safetensors models beside it (sorted)."""
    folder = os.path.dirname(default)
    others = sorted(os.path.join(folder, f) for f in os.listdir(folder)
                    if f.endswith(".safetensors") and os.path.join(folder, f) != default) if os.path.isdir(folder) \
        else []
    return [default] + others


def for_raster(raster, default: str) -> "tuple[str, str]":
    """(model path, why): the bundled model that suits a raster's ground resolution (a path, or a source that
    knows its own); the default when the resolution is unknown (no CRS) or the raster cannot be read here (the
    extraction reports that itself, with its own message)."""
    from ..io.raster import open_source

    try:
        src = open_source(raster)
        try:
            resolution = ground_metres(src) if src.crs else None
        finally:
            if isinstance(raster, str):
                src.close()
    except Exception:  # any failure to read it: the extraction reports an unreadable input itself
        return default, "the input's ground resolution could not be read"
    if not resolution or not math.isfinite(resolution):
        return default, "the input has no ground resolution (no coordinate system)"
    return choose(bundled_models(default), resolution)
