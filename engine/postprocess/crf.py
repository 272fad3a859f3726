"""Dense CRF refinement (Krähenbühl & Koltun 2011, pydensecrf): probabilities + image -> sharper masks.

`refine` works on one array; `refine_raster` streams a whole raster in overlapping tiles (each tile's result is
kept only in its core, between the midpoints of the overlaps), so memory stays flat.
"""

import contextlib
from dataclasses import dataclass

import numpy as np

from ..core import windows
from ..core.atomic import atomic_path, check_writable
from ..core.errors import BuildSegError
from ..core.options import MASK_NODATA, PROB_NODATA
from ..core.progress import Progress
from ..io.raster import RasterSource, RowWriter


@dataclass
class CrfParams:
    iterations: int = 5
    gaussian_sxy: float = 3.0  # px: smoothness kernel
    gaussian_compat: float = 3.0
    bilateral_sxy: float = 20.0  # px: appearance kernel
    bilateral_srgb: float = 15.0  # colour distance (0..255)
    bilateral_compat: float = 4.0
    threshold: float = 0.5
    tile_size: int = 512
    overlap: int = 64


def _densecrf():
    try:
        import pydensecrf.densecrf as dcrf
    except ImportError:
        raise BuildSegError("Dense CRF needs pydensecrf2: pip install pydensecrf2==1.1") from None
    return dcrf


def refine(image: np.ndarray, prob: np.ndarray, params: CrfParams = None) -> np.ndarray:
    """Refined class probabilities (K, H, W) from `prob` (K, H, W) and an 8-bit image (H, W, 3)."""
    params = params or CrfParams()
    dcrf = _densecrf()
    k, h, w = prob.shape
    d = dcrf.DenseCRF2D(w, h, k)
    unary = -np.log(np.clip(prob, 1e-5, 1.0)).reshape(k, -1).astype(np.float32)
    d.setUnaryEnergy(np.ascontiguousarray(unary))
    d.addPairwiseGaussian(sxy=params.gaussian_sxy, compat=params.gaussian_compat)
    d.addPairwiseBilateral(sxy=params.bilateral_sxy, srgb=params.bilateral_srgb,
                           rgbim=np.ascontiguousarray(image, dtype=np.uint8), compat=params.bilateral_compat)
    return np.asarray(d.inference(params.iterations), np.float32).reshape(k, h, w)


def to_rgb8(data: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """(bands, H, W) raw values -> (H, W, 3) uint8 with a fixed per-band stretch (same for every tile)."""
    bands = data[:3] if data.shape[0] >= 3 else np.repeat(data[:1], 3, 0)
    lo3, hi3 = (lo[:3], hi[:3]) if len(lo) >= 3 else (np.repeat(lo[:1], 3), np.repeat(hi[:1], 3))
    scaled = (bands - lo3[:, None, None]) / np.maximum(hi3 - lo3, 1e-6)[:, None, None] * 255
    return np.clip(scaled, 0, 255).astype(np.uint8).transpose(1, 2, 0)


def stretch(src, bands) -> tuple:
    """2nd and 98th percentiles per band from an overview of the raster."""
    f = min(1.0, 1024 / max(src.width, src.height))
    ov = src.overview(bands, (max(1, int(src.height * f)), max(1, int(src.width * f))))
    return np.percentile(ov, 2, axis=(1, 2)), np.percentile(ov, 98, axis=(1, 2))


def check_probability(ds) -> float:
    """Refuse what is not a one-band building probability (float 0..1, or BuildSeg's uint8 0..254); the scale
    that brings it to 0..1."""
    if ds.count != 1:
        raise BuildSegError(f"The probability raster has {ds.count} bands: give the one-band building probability "
                            "that Extract buildings writes (OUTPUT_PROBABILITY), not an image.")
    h, w = min(ds.height, 512), min(ds.width, 512)
    sample = ds.read(1, out_shape=(h, w), masked=True)
    values = sample.compressed()
    if ds.dtypes[0] == "uint8":
        return 254.0
    if values.size and (np.nanmin(values) < 0 or np.nanmax(values) > 1):
        raise BuildSegError(f"The probability raster holds values from {float(np.nanmin(values)):g} to "
                            f"{float(np.nanmax(values)):g}; probabilities must lie between 0 and 1.")
    return 1.0


def refine_raster(image_path: str, prob_path: str, out_mask: str, out_prob: str = None,
                  params: CrfParams = None, progress: Progress = None) -> dict:
    """Refine a building probability raster (float 0..1 with nodata, or uint8 0..254) with its image."""
    import rasterio

    params = params or CrfParams()
    progress = progress or Progress()
    for out in (o for o in (out_mask, out_prob) if o):
        check_writable(out, inputs=[image_path, prob_path])
    with RasterSource(image_path) as img, rasterio.open(prob_path) as pds:
        if (pds.width, pds.height) != (img.width, img.height) or not pds.transform.almost_equals(img.transform):
            raise BuildSegError("The probability raster is not on the image's grid: give the image the "
                                "probabilities were computed on (same size and georeferencing).")
        scale = check_probability(pds)
        bands = list(range(1, min(3, img.count) + 1))
        lo, hi = stretch(img, bands)
        rows = windows.tile_rows(img.height, img.width, params.tile_size, params.overlap)
        stats = {"building_pixels": 0, "tiles": sum(len(r.windows) for r in rows)}
        with contextlib.ExitStack() as stack:
            mask_w = RowWriter(stack.enter_context(atomic_path(out_mask)), img, "uint8", MASK_NODATA)
            prob_w = RowWriter(stack.enter_context(atomic_path(out_prob)), img, "float32", PROB_NODATA) if out_prob \
                else None
            try:
                for i, row in enumerate(rows):
                    y, (r0, r1) = row.y, row.core
                    strip_mask = np.full((r1 - r0, img.width), MASK_NODATA, np.uint8)
                    strip_prob = np.full((r1 - r0, img.width), PROB_NODATA, np.float32)
                    for win in row.windows:
                        progress.check()
                        x, (c0, c1), h, w = win.x, win.core, win.height, win.width
                        data, _ = img.read(bands, y, x, h, w)
                        raw = pds.read(1, window=rasterio.windows.Window(x, y, w, h)).astype(np.float32)
                        ok = pds.read_masks(1, window=rasterio.windows.Window(x, y, w, h)) > 0
                        ok &= np.isfinite(raw) & (raw >= 0)
                        p = np.clip(np.where(ok, raw / scale, 0.5), 0, 1)
                        q = refine(to_rgb8(data, lo, hi), np.stack([1 - p, p]), params)[1]
                        core = np.s_[r0 - y:r1 - y, c0 - x:c1 - x]
                        strip_prob[:, c0:c1] = np.where(ok[core], q[core], PROB_NODATA)
                        strip_mask[:, c0:c1] = np.where(ok[core], q[core] >= params.threshold, MASK_NODATA)
                    stats["building_pixels"] += int((strip_mask == 1).sum())
                    mask_w.write_rows(strip_mask)
                    if prob_w:
                        prob_w.write_rows(strip_prob)
                    progress.set_progress(100.0 * (i + 1) / len(rows))
            finally:
                mask_w.close()
                if prob_w:
                    prob_w.close()
    return stats
