"""Label alignment: free footprints (OpenStreetMap, cadastres) are often shifted by a few metres against the
imagery. The shift is estimated by cross-correlating the outlines of the rasterized labels with the outlines
of the model's building probability (gradient magnitudes) over a 2048 px window of the labelled part of a
raster (FFT cross-correlation, sub-pixel peak by a parabola; a 1024 px window held too few buildings for
half-pixel precision on Nairobi's satellite scene), and applied to the labels when the peak is clear: well
above the unshifted agreement and inside the search, not on its edge (agreement still rising at the edge is a
mismatch of shapes, such as block outlines against houses, not a shift)."""

import math
import os
from dataclasses import dataclass

import numpy as np

from ..core.errors import BuildSegError
from ..extract.inference import ExtractParams, extract
from ..io.labels import geojson_bounds
from ..io.raster import RasterSource, crop_to_file
from ..models import modelfile

SEARCH_M = 6.0  # largest shift looked for, metres
WIDE_M = 60.0  # the wider search reported (never applied) when the best shift lies at the edge of SEARCH_M
CLEAR = 1.25  # the peak must beat the unshifted agreement by this factor to be applied (block-level or
# unshifted labels reach about 1.0-1.22, labels shifted by 1.5 m or more 1.3-3.5 on the places tested)


@dataclass
class Offset:
    dx: float  # map units to add to the labels' x
    dy: float
    gain: float  # agreement at the peak / agreement unshifted
    clear: bool
    at_edge: bool = False  # the best shift is the largest looked for
    wide: tuple = None  # at the edge: (dx, dy, gain) of the best shift in a search WIDE_M wide

    def describe(self) -> str:
        state = "applied" if self.clear else (
            f"not applied (the best agreement lies at the edge of the {SEARCH_M:g} m search: the labels are "
            "shifted further, or their shapes differ from the buildings seen)" if self.at_edge else
            "not applied (no clear peak)")
        text = f"labels shifted by ({-self.dx:+.2f}, {-self.dy:+.2f}) map units against the imagery: {state}"
        if self.wide:
            dx, dy, gain = self.wide
            text += (f". A search of {WIDE_M:g} m finds its best agreement with the labels moved by ({dx:+.2f}, "
                     f"{dy:+.2f}) map units (agreement x{gain:.2f}): if they are that far off, give that as the "
                     "known label offset (LABEL_OFFSET) and train again; the labels were used as they are")
        return text


def shift_shapes(shapes, dx: float, dy: float) -> list:
    """(GeoJSON, value) pairs moved by (dx, dy)."""
    def move(c):
        if isinstance(c[0], (int, float)):
            return [c[0] + dx, c[1] + dy] + list(c[2:])
        return [move(p) for p in c]

    return [({**g, "coordinates": move(g["coordinates"])}, v) for g, v in shapes]


def estimate(raster: str, shapes, model_path: str, work: str, size: int = 2048, progress=None) -> Offset:
    """The shift that brings `shapes` (GeoJSON in the raster's CRS) onto the buildings the model sees, from a
    window of about `size` pixels of the model's grid."""
    import rasterio
    from rasterio.features import rasterize

    model_res = modelfile.read_info(model_path).resolution
    with RasterSource(raster) as rs:
        ground = rs.ground_resolution()
    if model_res:
        size = max(128, int(size * model_res / ground))
    with rasterio.open(raster) as src:
        res = float(np.hypot(src.transform.a, src.transform.d))
        row, col = _densest_window(src, shapes, size)
    crop = os.path.join(work, "align.tif")
    transform = crop_to_file(raster, row, col, size, size, crop)
    prob_path = os.path.join(work, "align_prob.tif")
    extract(crop, model_path, out_probability=prob_path, params=ExtractParams(separate=False), progress=progress)
    with rasterio.open(prob_path) as p:
        prob = np.nan_to_num(p.read(1, masked=True).filled(0).astype(np.float64))
    labels = rasterize([(g, 1) for g, _ in shapes], out_shape=prob.shape, transform=transform, fill=0,
                       dtype="uint8").astype(np.float64)
    if labels.sum() < 50:
        raise BuildSegError("Too few labelled buildings on the raster to estimate their shift.")
    px = max(1, int(math.ceil(SEARCH_M / res)))
    corr = _correlation(prob, labels)
    sy, sx, gain = _peak(corr, px)
    # a label pixel at (r, c) matches the image at (r + sy, c + sx): move the labels by that much
    dx, dy = sx * transform.a, sy * transform.e
    # a wider search: labels further off than SEARCH_M peak beyond it (a local peak is then a neighbour's echo)
    wy, wx, wgain = _peak(corr, max(px, min(int(math.ceil(WIDE_M / res)), min(prob.shape) // 3)))
    beyond = max(abs(wx), abs(wy)) > px and wgain > gain
    at_edge = max(abs(sx), abs(sy)) >= px or beyond
    wide = (wx * transform.a, wy * transform.e, wgain) if at_edge else None
    return Offset(dx, dy, gain, gain >= CLEAR and 0.5 <= max(abs(sx), abs(sy)) and not at_edge, at_edge, wide)


def _densest_window(src, shapes, size):
    """The top-left pixel of a `size` window centred on the median building."""
    inv = ~src.transform
    centres = [inv * ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for b in (geojson_bounds(g) for g, _ in shapes)]
    inside = [(r, c) for c, r in centres if 0 <= r < src.height and 0 <= c < src.width]
    if not inside:
        raise BuildSegError("The labels do not overlap the raster: nothing to align.")
    r, c = np.median(np.array(inside), axis=0)
    return (int(min(max(r - size / 2, 0), max(0, src.height - size))),
            int(min(max(c - size / 2, 0), max(0, src.width - size))))


def _correlation(prob, labels):
    """corr[s] = sum over x of the outlines of prob at x + s times those of labels at x (circular, by FFT):
    outlines give a sharper peak than filled shapes."""
    a, b = _edges(prob), _edges(labels)
    a, b = a - a.mean(), b - b.mean()
    return np.real(np.fft.ifft2(np.fft.fft2(a) * np.conj(np.fft.fft2(b))))


def _peak(corr, px):
    """(row shift, col shift, gain) within +-px maximising the agreement `corr` (_correlation)."""
    shifts = np.arange(-px, px + 1)
    window = corr[np.ix_(shifts % corr.shape[0], shifts % corr.shape[1])]
    i, j = np.unravel_index(np.argmax(window), window.shape)
    zero = max(window[px, px], 1e-9)
    gain = float(window[i, j] / zero) if window[px, px] > 0 else float("inf")
    di = _parabola(window[i - 1, j], window[i, j], window[i + 1, j]) if 0 < i < len(shifts) - 1 else 0.0
    dj = _parabola(window[i, j - 1], window[i, j], window[i, j + 1]) if 0 < j < len(shifts) - 1 else 0.0
    return shifts[i] + di, shifts[j] + dj, gain


def _edges(x):
    import cv2

    smooth = cv2.GaussianBlur(x.astype(np.float32), (0, 0), 1.0)
    gx, gy = cv2.Sobel(smooth, cv2.CV_32F, 1, 0), cv2.Sobel(smooth, cv2.CV_32F, 0, 1)
    return np.hypot(gx, gy).astype(np.float64)


def _parabola(left, centre, right) -> float:
    den = left - 2 * centre + right
    return 0.0 if den == 0 else float(np.clip(0.5 * (left - right) / den, -0.5, 0.5))
