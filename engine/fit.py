"""Model fit: before a long run, does the model fit this imagery? Compares the input with what the model was
trained on and runs it on a few sampled tiles, and says "fits", "uncertain" or "fine-tune first", with reasons.

Three measures, each in 0..1 (1: like the training imagery), multiplied into the score:
- ground resolution: exp(-|ln(input / model)|) (resampling helps, but a factor 3 loses detail or context);
- radiometry: exp(-max |z| / 2) over bands, z = (input band mean - model mean) / model std;
- confidence: the share of sampled pixels the model is sure about (building probability < 0.1 or > 0.9);
  a model that hesitates everywhere has not seen imagery like this.
"""

import math
import os
from dataclasses import dataclass, field

import numpy as np

from . import modelfile
from .atomic import work_dir
from .errors import BuildSegError
from .progress import Progress

FITS, UNCERTAIN = 0.5, 0.3  # score thresholds for the verdicts


@dataclass
class FitReport:
    score: float
    verdict: str
    reasons: list = field(default_factory=list)
    measures: dict = field(default_factory=dict)

    def summary(self) -> str:
        return f"Model fit {self.score:.2f}: {self.verdict}" + ("; " + "; ".join(self.reasons) if self.reasons
                                                                else "")


def check_fit(raster: str, model_path: str, samples: int = 6, progress: Progress = None,
              model_cache=None) -> FitReport:
    from .inference import validate_bands
    from .raster import RasterSource

    progress = progress or Progress()
    info = modelfile.read_info(model_path)
    with RasterSource(raster) as src:
        bands = validate_bands(info, src, None)
        res = src.ground_resolution()
        size = int(min(max(src.width, src.height), math.ceil(info.tile_size * (info.resolution or res) / res)))
        windows = _sample_windows(src, bands, size, samples)
        if not windows:
            raise BuildSegError("No part of the raster has enough valid pixels to check the model's fit.")
        pixels = np.concatenate([d[:, v] for d, v, _ in windows], axis=1)
        with work_dir("buildseg-fit-") as work:
            probs = [_probabilities(src, model_path, r, c, size, work, k, model_cache, progress.sub(
                100 * k / len(windows), 100 * (k + 1) / len(windows))) for k, (_, _, (r, c)) in enumerate(windows)]
    return _report(info, res, pixels, np.concatenate(probs))


def _sample_windows(src, bands, size, samples):
    """Up to `samples` windows of `size` px spread over the raster, with mostly valid pixels."""
    rows = np.linspace(0, max(0, src.height - size), 3).astype(int)
    cols = np.linspace(0, max(0, src.width - size), 3).astype(int)
    grid = [(r, c) for r in rows for c in cols]
    order = np.random.default_rng(0).permutation(len(grid))
    out = []
    for i in order:
        data, valid = src.read(bands, grid[i][0], grid[i][1], size, size)
        if valid.mean() > 0.5:
            out.append((data, valid, grid[i]))
        if len(out) == samples:
            break
    return out


def _probabilities(src, model_path, row, col, size, work, k, model_cache, progress):
    """Building probabilities of one window, by BuildSeg's own extraction (resampling included)."""
    import rasterio

    from .inference import ExtractParams, extract
    from .raster import crop_to_file

    crop, out = os.path.join(work, f"crop{k}.tif"), os.path.join(work, f"prob{k}.tif")
    crop_to_file(src.path, row, col, size, size, crop)
    extract(crop, model_path, out_probability=out, params=ExtractParams(overlap=0, separate=False),
            progress=progress, model_cache=model_cache)
    with rasterio.open(out) as p:
        prob = p.read(1, masked=True)
    return prob.compressed()


def _report(info, res, pixels, prob) -> FitReport:
    reasons = []
    ratio = res / info.resolution if info.resolution else 1.0
    resolution = math.exp(-abs(math.log(ratio)))
    if resolution < 0.7:
        reasons.append(f"the imagery is {res:.2f} m per pixel, the model was trained at {info.resolution:g} m")
    mean = pixels.mean(axis=1)
    z = (mean - np.asarray(info.mean)) / np.asarray(info.std)
    radiometry = math.exp(-float(np.abs(z).max()) / 2)
    if radiometry < 0.6:
        side = "brighter" if z[np.abs(z).argmax()] > 0 else "darker"
        reasons.append(f"band {info.bands[int(np.abs(z).argmax())]} is much {side} than the training imagery "
                       f"({float(np.abs(z).max()):.1f} standard deviations)")
    confidence = float(np.mean((prob < 0.1) | (prob > 0.9))) if prob.size else 0.0
    if confidence < 0.8:
        reasons.append(f"the model is unsure on {100 * (1 - confidence):.0f}% of the sampled pixels")
    score = resolution * radiometry * confidence
    verdict = "fits" if score >= FITS else ("uncertain" if score >= UNCERTAIN else "fine-tune first")
    measures = {"resolution": round(resolution, 3), "radiometry": round(radiometry, 3),
                "confidence": round(confidence, 3), "ground_resolution_m": round(res, 3),
                "band_z": [round(float(v), 2) for v in z], "building_share": round(float(np.mean(prob > 0.5)), 3)}
    return FitReport(round(score, 3), verdict, reasons, measures)
