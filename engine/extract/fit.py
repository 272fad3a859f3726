"""Model fit: before a long run, does the model fit this imagery? Runs the model on a few tiles sampled over
the input, each as it is and turned by 180 degrees, and says "fits", "uncertain" or "fine-tune first", with
reasons.

The score is the model's agreement with itself: the building IoU between its mask of each sampled tile and its
mask of the turned tile (turned back). A model that has learnt what buildings look like in this imagery finds
the same buildings either way up; on imagery unlike its training data its guesses change with the view. On
the 21 places of benchmarks/model_fit.py its ranking follows the default model's measured building IoU
(Spearman 0.89; the product of the three measures below, the score before, 0.77), and on four far places
(other sensors, resolutions and cities, not used to choose the thresholds) it ranks them in their order.

Three measures explain a low score (reasons only, not part of the score):
- ground resolution: model / input where the input is coarser, 1 where it is finer;
- radiometry: exp(-max |z| / 2) over bands, z = (input band mean - model mean) / model std;
- confidence: the share of sampled pixels the model is sure about (building probability < 0.1 or > 0.9).
"""

import math
import os
from dataclasses import dataclass, field

import numpy as np

from ..core.atomic import work_dir
from ..core.errors import BuildSegError, Cancelled
from ..core.progress import Progress
from ..io.labels import geojson_bounds
from ..io.raster import RasterSource, crop_to_file
from ..io.resample import used_as_is
from ..io.value_scale import normalisation
from ..models import modelfile
from .params import ExtractParams
from .plan import validate_bands

FITS, UNCERTAIN = 0.75, 0.6  # score thresholds for the verdicts
MIN_BUILDING_SHARE = 0.002  # below this share of sampled pixels called building, agreement is not judged


@dataclass
class FitReport:
    score: float
    verdict: str
    reasons: list = field(default_factory=list)
    measures: dict = field(default_factory=dict)

    def summary(self) -> str:
        return f"Model fit {self.score:.2f}: {self.verdict}" + ("; " + "; ".join(self.reasons) if self.reasons
                                                                else "")

    def metadata(self) -> dict:
        """What outputs record of the check (layer metadata, model files)."""
        return {"fit_score": self.score, "fit_verdict": self.verdict}


def preflight(raster, model_path: str, progress: Progress, model_cache=None, aoi=None,
              what: str = "", *, run) -> "FitReport | None":
    """The fit check as the first step of a run: logged (a warning unless it fits), never fatal; None when it
    cannot be made (a source without a file, no valid window). `run`: the extraction (inference.extract)."""
    if not isinstance(raster, str):
        progress.info("Model fit not checked: the input is not a file (web or in-memory layer).")
        return None
    try:
        report = check_fit(raster, model_path, samples=PREFLIGHT_SAMPLES, progress=progress,
                           model_cache=model_cache, aoi=aoi, run=run)
    except Cancelled:
        raise
    except BuildSegError as exc:
        progress.info(f"Model fit not checked: {exc}")
        return None
    (progress.info if report.verdict == "fits" else progress.warn)(what + report.summary())
    return report


WARP_MARGIN = 4  # model pixels a resampled fit window stays under the tile
PREFLIGHT_SAMPLES = 3  # tiles run at the start of an extraction or training (about half a second on CPU)


def check_fit(raster: str, model_path: str, samples: int = 6, progress: Progress = None,
              model_cache=None, aoi=None, *, run) -> FitReport:
    """How well the model fits the raster, from `samples` windows run through `run` (the extraction,
    engine.extract.inference.extract: given, not imported, as extraction itself runs this check first)."""
    progress = progress or Progress()
    info = modelfile.read_info(model_path)
    with RasterSource(raster) as src:
        bands = validate_bands(info, src, None)
        scaled = normalisation(src, bands, info)
        res = src.ground_resolution()
        size = min(max(src.width, src.height), _one_tile(info, res, used_as_is(src, info.resolution)))
        windows = _sample_windows(src, bands, size, samples, _aoi_box(src, aoi))
        if not windows:
            raise BuildSegError("No part of the raster has enough valid pixels to check the model's fit.")
        pixels = np.concatenate([d[:, v] for d, v, _ in windows], axis=1)
        with work_dir("buildseg-fit-") as work:
            pairs = [_probabilities(run, src, model_path, r, c, size, work, k, model_cache, progress.sub(
                100 * k / len(windows), 100 * (k + 1) / len(windows)).quiet())
                for k, (_, _, (r, c)) in enumerate(windows)]
    return _report(info, res, pixels, np.concatenate([p for p, _ in pairs]), np.concatenate([t for _, t in pairs]),
                   scaled)


def _one_tile(info, res: float, as_is: bool) -> int:
    """The window (input pixels) that makes one model tile: the tile itself on a raster used as it is, else the
    ground span of the tile less a few pixels (the warp may round its size up; one pixel over the tile would
    run four tiles)."""
    if as_is:
        return info.tile_size
    ratio = res / info.resolution if info.resolution else 1.0
    return max(1, math.floor((info.tile_size - WARP_MARGIN) / ratio))


def _aoi_box(src, aoi):
    """(row0, col0, row1, col1) pixel box around the area of interest (GeoJSON in the raster's CRS), or the
    whole raster."""
    if not aoi:
        return 0, 0, src.height, src.width
    from rasterio.windows import from_bounds

    b = np.array([geojson_bounds(g) for g in aoi])
    w = from_bounds(b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max(), src.transform)
    row0, col0 = max(0, int(w.row_off)), max(0, int(w.col_off))
    row1 = min(src.height, int(np.ceil(w.row_off + w.height)))
    col1 = min(src.width, int(np.ceil(w.col_off + w.width)))
    return (row0, col0, row1, col1) if row1 > row0 and col1 > col0 else (0, 0, src.height, src.width)


def _sample_windows(src, bands, size, samples, box):
    """Up to `samples` distinct windows of `size` px spread over `box`, with mostly valid pixels."""
    row0, col0, row1, col1 = box
    rows = np.linspace(row0, max(row0, min(row1, src.height) - size), 3).astype(int)
    cols = np.linspace(col0, max(col0, min(col1, src.width) - size), 3).astype(int)
    grid = sorted({(int(r), int(c)) for r in rows for c in cols})
    order = np.random.default_rng(0).permutation(len(grid))
    out = []
    for i in order:
        data, valid = src.read(bands, grid[i][0], grid[i][1], size, size)
        if valid.mean() > 0.5:
            out.append((data, valid, grid[i]))
        if len(out) == samples:
            break
    return out


def _probabilities(run, src, model_path, row, col, size, work, k, model_cache, progress):
    """Building probabilities of one window, by BuildSeg's own extraction `run` (resampling included): (as it
    is, turned by 180 degrees and back), over the pixels valid in both."""
    import rasterio

    probs = []
    for turn in (False, True):
        crop, out = os.path.join(work, f"crop{k}{turn:d}.tif"), os.path.join(work, f"prob{k}{turn:d}.tif")
        crop_to_file(src.path, row, col, size, size, crop, half_turn=turn)
        run(crop, model_path, out_probability=out, params=ExtractParams(overlap=0, separate=False),
            progress=progress.sub(50 * turn, 50 + 50 * turn), model_cache=model_cache)
        with rasterio.open(out) as p:
            prob = p.read(1, masked=True)
        probs.append(prob[::-1, ::-1] if turn else prob)
    valid = ~(np.ma.getmaskarray(probs[0]) | np.ma.getmaskarray(probs[1]))
    return np.asarray(probs[0])[valid], np.asarray(probs[1])[valid]


def _report(info, res, pixels, prob, turned, normalisation=None) -> FitReport:
    """The verdict from the agreement of `prob` with `turned` (the same pixels' probabilities from the turned
    tiles); radiometry against the normalisation extraction uses (the scene's own statistics for imagery on
    another value scale than the model's, io.value_scale, which is then a reason)."""
    mean_ref, std_ref, rescaled = normalisation or (info.mean, info.std, "")
    reasons = [rescaled.split(": ", 1)[-1]] if rescaled else []
    ratio = res / info.resolution if info.resolution else 1.0
    resolution = min(1.0, 1.0 / ratio)  # only coarser imagery loses what the model looks for
    if resolution < 0.7:
        reasons.append(f"the imagery is {res:.2f} m per pixel, the model was trained at {info.resolution:g} m")
    mean = pixels.mean(axis=1)
    z = (mean - np.asarray(mean_ref)) / np.asarray(std_ref)
    radiometry = math.exp(-float(np.abs(z).max()) / 2)
    if radiometry < 0.6:
        side = "brighter" if z[np.abs(z).argmax()] > 0 else "darker"
        reasons.append(f"band {info.bands[int(np.abs(z).argmax())]} is much {side} than the training imagery "
                       f"({float(np.abs(z).max()):.1f} standard deviations)")
    confidence = float(np.mean((prob < 0.1) | (prob > 0.9))) if prob.size else 0.0
    if confidence < 0.8:
        reasons.append(f"the model is unsure on {100 * (1 - confidence):.0f}% of the sampled pixels")
    a, b = prob > 0.5, turned > 0.5
    union = int(np.count_nonzero(a | b))
    agreement = np.count_nonzero(a & b) / union if union else None
    if union < max(100, MIN_BUILDING_SHARE * prob.size):
        agreement, score = None, UNCERTAIN  # nothing to agree on: a scene without buildings, or a model that sees none
        reasons.insert(0, "the model finds (almost) no buildings in the sampled tiles, too few to judge its fit: "
                          "if there are buildings, fine-tune on a few of them")
    else:
        score = agreement
        if score < FITS:
            reasons.insert(0, f"its buildings change when the imagery is turned round (agreement {score:.2f})")
    verdict = "fits" if score >= FITS else ("uncertain" if score >= UNCERTAIN else "fine-tune first")
    measures = {"agreement": None if agreement is None else round(float(agreement), 3),
                "resolution": round(resolution, 3), "radiometry": round(radiometry, 3),
                "confidence": round(confidence, 3), "ground_resolution_m": round(res, 3),
                "band_z": [round(float(v), 2) for v in z], "building_share": round(float(np.mean(prob > 0.5)), 3)}
    return FitReport(round(float(score), 3), verdict, reasons, measures)
