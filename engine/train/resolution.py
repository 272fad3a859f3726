"""The ground resolution a training run reads its windows at: the model's, or for a fine-tune on much coarser
imagery the imagery's own; and the imagery range a model file records."""

import os

from ..io.resample import ground_metres, pixels_per_model_pixel
from .dataset import val_windows


def _imagery_range(scenes, start=None) -> "list | None":
    """[finest, coarsest] ground resolution (m) of the training imagery, with the starting model's range: what
    choosing a model by resolution reads (engine/models/choice.py)."""
    res = [r for r in [getattr(s, "ground_m", None) for s in scenes] + list(start or []) if r]
    return [round(min(res), 4), round(max(res), 4)] if res else None


# imagery this much coarser than the starting model's resolution trains at its own: measured on the far places
# (docs/training.md), 1 m imagery learnt better at its own resolution (Dubai: 0.591 against 0.524 upsampled to
# 0.3 m), 0.6 m imagery better upsampled (Austin at 0.6 m: 0.655 against 0.456)
NATIVE_FACTOR = 2.5


def _training_resolution(params, info, scenes, progress) -> "float | None":
    """A fine-tune on imagery coarser than its model (by NATIVE_FACTOR) trains at the imagery's own resolution
    (the finest of its rasters) instead of upsampling it to the model's: each step sees (coarser / model)² times
    the ground, and extraction later runs the fine-tuned model on the imagery as it is. None: the model's."""
    if not (params.init_model and params.native_resolution and info.resolution):
        return None
    res = [ground_metres(s.src) for s in scenes]
    if not res or any(not r for r in res) or min(res) < info.resolution * NATIVE_FACTOR:
        return None
    finest = round(min(res), 4)
    progress.info(f"The imagery ({finest:g} m) is {finest / info.resolution:.1f} times coarser than the starting "
                  f"model's {info.resolution:g} m: the fine-tune trains at {finest:g} m, seeing "
                  f"{(finest / info.resolution) ** 2:.1f} times the ground per step, and records {finest:g} m "
                  "(extraction then runs it on such imagery without upsampling it). Switch 'Train at the "
                  "imagery's own resolution' off to keep the model's.")
    return finest


def _start_view(scenes, resolution, tile) -> tuple:
    """(scales, validation windows) of the validation area read at `resolution` (the starting model's own)."""
    scales = [pixels_per_model_pixel(s.ground_m, resolution) for s in scenes]
    with _Scaled(scenes, scales):
        windows = val_windows(scenes, tile)
    return (scales, windows) if windows else None  # none there: the start is scored on the training's windows


class _Scaled:
    """Scenes read at other scales for a while."""

    def __init__(self, scenes, scales):
        self.scenes, self.scales = scenes, scales

    def __enter__(self):
        self.saved = [s.scale for s in self.scenes]
        for s, k in zip(self.scenes, self.scales):
            s.scale = k

    def __exit__(self, *exc):
        for s, k in zip(self.scenes, self.saved):
            s.scale = k


def _at_model_resolution(scenes, resolution, progress) -> None:
    """Windows of each raster read at the model's ground resolution, as extraction will run the model (a
    fine-tune of a 0.3 m model on 0.5 m imagery learns from 0.3 m pixels, not from pixels it never sees)."""
    for s in scenes:
        res = s.ground_m = ground_metres(s.src)
        s.scale = pixels_per_model_pixel(res, resolution)
        if s.scale != 1.0:
            progress.info(f"{os.path.basename(s.raster)} ({res:.2f} m) is read at the model's {resolution:g} m, "
                          "as extraction will run the model on it.")
