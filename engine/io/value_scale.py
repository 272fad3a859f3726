"""Imagery on another value scale than the model's: 16-bit satellite values (0..2047, 0..10000) or 0..1
reflectance given to a model trained on 8-bit imagery. Normalised with the model's 8-bit mean and standard
deviation such values are tens of standard deviations off and the model sees noise; standardised on the
scene's own band statistics they look like the imagery it learnt from (a linear stretch, as 16-bit to 8-bit
conversions are)."""

import numpy as np

from ..core.errors import BuildSegError
from .raster import spread_windows

HIGH, LOW = 255.0, 2.0  # the 99th percentile of 8-bit imagery lies between these (above 255: impossible)


def eight_bit_model(mean, std) -> bool:
    """Whether a model's normalisation is that of 8-bit imagery: band means within 0..255 (above 0..1
    reflectance), spreads no wider than 0..255 allows."""
    return all(LOW < float(m) < 255 and float(s) <= 128 for m, s in zip(mean, std))


def sample_values(src, bands, grid: int = 4, size: int = 256) -> np.ndarray:
    """(bands, N) valid pixel values of `grid` x `grid` windows spread evenly over the raster (deterministic:
    every process of a run computes the same); pixels 0 in every band are left out too (the black collar of a
    scene whose nodata is not declared)."""
    parts = []
    for r, c, n in spread_windows(src, grid, size):
        data, valid = src.read(bands, r, c, n, n)
        parts.append(data[:, valid & np.isfinite(data).all(axis=0) & (data != 0).any(axis=0)])
    return np.concatenate(parts, axis=1) if parts else np.zeros((len(bands), 0), np.float32)


def off_scale(values: np.ndarray) -> str:
    """Why `values` are not 8-bit imagery ('' when they are or cannot be told)."""
    if values.size == 0:
        return ""
    top = float(np.percentile(values, 99))
    if top > HIGH:
        return f"its values reach {top:.0f} (16-bit or higher)"
    if top <= LOW:
        return f"its values reach only {top:.2f} (reflectance 0..1)"
    return ""


def scene_normalisation(src, bands, mean, std) -> tuple:
    """(mean, std, reason): the model's normalisation, or, for a model trained on 8-bit imagery given imagery on
    another scale, the scene's own band statistics and the reason ('' when the model's are kept)."""
    if str(src.dtype) == "uint8" or not eight_bit_model(mean, std):  # 8-bit rasters are never off the scale
        return list(mean), list(std), ""
    values = sample_values(src, bands)
    reason = off_scale(values)
    if not reason:
        return list(mean), list(std), ""
    return (*statistics_of(values), f"{src.name}: {reason}, but the model learnt from 8-bit imagery: each band is "
            "standardised by the scene's own mean and standard deviation instead of the model's")


def uses_scene_statistics(info, asked: bool = False) -> bool:
    """Whether extraction standardises by the scene's own statistics: asked (SCENE_COLOURS), or a model trained
    so (ModelInfo.normalisation "scene")."""
    return asked or info.normalisation == "scene"


def normalisation(src, bands, info, asked: bool = False) -> tuple:
    """(mean, std, reason) extraction normalises `src` with: the scene's own statistics where
    uses_scene_statistics (reason ''), else scene_normalisation's (the model's, or the scene's for imagery on
    another value scale, with the reason)."""
    if uses_scene_statistics(info, asked):
        return (*scene_statistics(src, bands), "")
    return scene_normalisation(src, bands, info.mean, info.std)


def statistics_of(values: np.ndarray) -> tuple:
    """(mean, std) per band of (bands, N) values, lists of floats; std never below 1e-6."""
    return [float(v) for v in values.mean(axis=1)], [max(float(v), 1e-6) for v in values.std(axis=1)]


def scene_statistics(src, bands) -> tuple:
    """(mean, std) per band of the scene's valid pixels (sample_values; a finer grid of windows where the first
    holds too few, as on a mosaic mostly no-data), whatever its value scale."""
    values = sample_values(src, bands)
    if values.shape[1] < 1000:
        values = np.concatenate([values, sample_values(src, bands, grid=16, size=64)], axis=1)
    if values.shape[1] == 0:
        raise BuildSegError(f"{src.name}: no valid pixel found to take the scene's band statistics from (it looks "
                            "empty: nodata everywhere sampled). Choose a raster or extent that holds imagery.")
    return statistics_of(values)


class Standardised:
    """A raster source whose reads come standardised band by band by the scene's own statistics (those extraction
    takes for a model of scene normalisation): a model trains on what it will see. Everything else is the
    source's."""

    def __init__(self, src):
        bands = list(range(1, src.count + 1))
        mean, std = scene_statistics(src, bands)
        self.source, self.mean, self.std = src, dict(zip(bands, mean)), dict(zip(bands, std))

    def read(self, bands, *window):
        data, valid = self.source.read(bands, *window)
        mean = np.asarray([self.mean[b] for b in bands], np.float32)[:, None, None]
        std = np.asarray([self.std[b] for b in bands], np.float32)[:, None, None]
        return (data - mean) / std, valid

    def __getattr__(self, name):
        return getattr(self.source, name)
