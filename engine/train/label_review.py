"""Free footprints (OpenStreetMap, cadastres) checked against what the model sees, before they teach it:
stale labels (polygons over what the model sees as bare ground) and the area where labelling looks complete.

Both read the model's building probability on the image grid (an extraction of the raster) in strips, so a
large raster costs one strip of memory.
"""

import math
from dataclasses import dataclass

import numpy as np

from ..io.labels import IGNORE, window_transform
from ..io.raster import RasterSource

STRIP = 1024  # rows read at a time
STALE_BELOW = 0.2  # mean building probability under which an outline counts as stale
STALE_MIN_M2 = 25.0  # smaller outlines are not judged: sheds the model misses, or a 2 m label shift, leave them
# with a low mean probability although they are real (Austin: 29 of 45 outlines under 20 m2 below 0.2)
LABELLED_COVER = 0.1  # share of the model's buildings a cell's labels must cover to count as labelled


@dataclass
class Stale:
    index: int  # position in the shapes given
    mean_probability: float
    pixels: int


def stale_labels(shapes, probability: str, threshold: float = STALE_BELOW, min_area_m2: float = STALE_MIN_M2,
                 min_pixels: int = 4) -> list:
    """Label polygons of at least `min_area_m2` (and `min_pixels`) whose pixels the model sees as ground: mean
    building probability below `threshold` (nodata pixels do not count). `shapes` are (GeoJSON, value) in the
    raster's CRS."""
    import rasterio
    from rasterio.features import rasterize

    with RasterSource(probability) as rs:
        pixel_m2 = np.prod(rs.pixel_size()) * rs.unit_metres() ** 2
    min_pixels = max(min_pixels, int(math.ceil(min_area_m2 / pixel_m2)))

    n = len(shapes)
    total, count = np.zeros(n + 1), np.zeros(n + 1)
    with rasterio.open(probability) as ds:
        for row in range(0, ds.height, STRIP):
            h = min(STRIP, ds.height - row)
            ids = rasterize([(g, i + 1) for i, (g, _) in enumerate(shapes)], out_shape=(h, ds.width),
                            transform=window_transform(ds.transform, row, 0), fill=0, dtype="int32")
            p = ds.read(1, window=((row, row + h), (0, ds.width))).astype(np.float64)
            ok = (ids > 0) & (p >= 0) & (p <= 1)
            total += np.bincount(ids[ok], weights=p[ok], minlength=n + 1)
            count += np.bincount(ids[ok], minlength=n + 1)
    mean = np.divide(total, count, out=np.full(n + 1, np.nan), where=count > 0)
    return [Stale(i - 1, round(float(mean[i]), 4), int(count[i])) for i in range(1, n + 1)
            if count[i] >= min_pixels and mean[i] < threshold]


def estimate_labelled_area(shapes, probability: str, cell_px: int = 128, covered: float = LABELLED_COVER,
                           empty: float = 0.02) -> list:
    """Where the labels look complete, as GeoJSON polygons in the raster's CRS (for labels without a labelled
    area; shapes valued IGNORE, such as stale outlines, do not count). A cell of `cell_px` counts when its labels
    cover at least `covered` of the pixels the model sees as buildings there, or when the model sees almost no
    building in it (`empty` of its pixels) and it touches such a covered cell (its background is safe to learn).
    Elsewhere, an unlabelled building is more likely a gap in the labels than ground. The bar is low on
    purpose: with incomplete labels, what the model sees and the labels miss is ignored anyway, so the area only
    has to leave out the parts nobody mapped, and a high bar would also drop the cells where the model errs
    most."""
    import rasterio
    from rasterio.features import rasterize
    from rasterio.features import shapes as trace
    from rasterio.transform import Affine

    labels = [(g, 1) for g, v in shapes if v not in (0, IGNORE)]
    with rasterio.open(probability) as ds:
        rows, cols = -(-ds.height // cell_px), -(-ds.width // cell_px)
        seen, labelled, both, valid = (np.zeros((rows, cols)) for _ in range(4))
        step = cell_px * max(1, STRIP // cell_px)
        for row in range(0, ds.height, step):
            h = min(step, ds.height - row)
            lab = rasterize(labels, out_shape=(h, ds.width), transform=window_transform(ds.transform, row, 0),
                            fill=0, dtype="uint8") > 0 if labels else np.zeros((h, ds.width), bool)
            p = ds.read(1, window=((row, row + h), (0, ds.width)))
            ok = (p >= 0) & (p <= 1)
            building = ok & (p >= 0.5)
            r0 = row // cell_px
            for grid, values in ((seen, building), (labelled, lab & ok), (both, lab & building), (valid, ok)):
                part = _cell_sums(values, cell_px)
                grid[r0:r0 + part.shape[0]] += part
        transform = ds.transform * Affine.scale(cell_px)
    complete = (labelled > 0) & (both >= covered * seen)
    quiet = (valid > 0) & (seen <= empty * np.maximum(valid, 1))
    area = complete | (quiet & _touches(complete))
    return [geom for geom, v in trace(area.astype(np.uint8), mask=area, transform=transform) if v == 1]


def _cell_sums(values: np.ndarray, cell: int) -> np.ndarray:
    """Counts of True per cell x cell block (edges padded)."""
    h, w = values.shape
    padded = np.zeros((-(-h // cell) * cell, -(-w // cell) * cell), np.float64)
    padded[:h, :w] = values
    return padded.reshape(padded.shape[0] // cell, cell, padded.shape[1] // cell, cell).sum(axis=(1, 3))


def _touches(cells: np.ndarray) -> np.ndarray:
    """Cells next to (8 neighbours) or in `cells`."""
    import cv2

    return cv2.dilate(cells.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
