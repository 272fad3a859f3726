"""Split touching buildings: watershed on the distance transform of each building blob.

Blob by blob (memory bounded by the largest building): markers are the h-maxima of the distance to the
blob's edge, so a waist at least `h` pixels lower than both centres is a candidate split. A candidate is kept
only where the waist is narrow for the buildings it joins: its half-width (the highest distance along the
shared border, the saddle) below `neck` times the smaller of the two centres' half-widths. Two houses joined
by a strip of garden wall split; the arms of one L-shaped or ragged roof, whose joint is as wide as the arms,
stay one building. Pixel thresholds alone split the latter at fine resolution (a 2 px dip is nothing on a
40 px roof).
"""

import json
import math

import numpy as np

from ..core.errors import BuildSegError

QUICK_STEPS = 4  # geodesic dilations h_maxima_markers grows before judging plateaus one height at a time
MAX_LEVELS = 48  # distinct plateau heights h_maxima_markers judges one by one; a blob with more goes to h_maxima


def split_blob(geom, geotransform, h: float = 2.0, neck: float = 0.5, crops=None) -> list:
    """(OGR polygon, its pixels) of each part of `geom` (an OGR polygon on the mask grid) after splitting at
    narrow waists; the pixels are (first row, first column, bool pixels) on the mask grid, or None where `geom`
    stays whole or a part was traced as several polygons. `crops`: the blob's pixels, as (first row, first
    column, bool pixels, ...) pieces on the mask grid, spare drawing the polygon again (the same pixels: its
    edges are theirs)."""
    from rasterio.features import rasterize
    from rasterio.transform import Affine
    from skimage.segmentation import watershed

    gt = Affine.from_gdal(*geotransform)
    r0, c0, r1, c1 = _pixel_box(geom, gt, crops)  # with a margin of one pixel
    wt = gt * Affine.translation(c0, r0)
    if crops:
        blob = np.zeros((r1 - r0, c1 - c0), np.uint8)
        for row, col, pixels, *_ in crops:
            blob[row - r0:row - r0 + pixels.shape[0], col - c0:col - c0 + pixels.shape[1]] |= pixels
    else:
        blob = rasterize([(json.loads(geom.ExportToJson()), 1)], out_shape=(r1 - r0, c1 - c0), transform=wt,
                         fill=0, dtype="uint8")
    dist = edt(blob)
    markers = h_maxima_markers(dist, h, blob > 0)
    if markers is None:
        return [(geom, None)]
    parts = merge_wide_necks(watershed(-dist, markers, mask=blob > 0).astype(np.int32), dist, neck)
    if parts.max() < 2:
        return [(geom, None)]
    traced = _polygons(parts, wt.to_gdal())
    labels = [label for _, label in traced]
    return [(g, (r0, c0, parts == label) if labels.count(label) == 1 else None) for g, label in traced]


EXACT_CV_DISTANCE = 1000.0  # px: up to this distance OpenCV's float32 transform gives the exact squared distance


def edt(blob: np.ndarray) -> np.ndarray:
    """scipy's distance_transform_edt of a uint8 blob with a margin of zeros, value for value, mostly by OpenCV:
    its exact (Felzenszwalb) transform in float32 gives the integer squared distance, whose float64 root is
    scipy's value; beyond EXACT_CV_DISTANCE px, scipy itself."""
    import cv2
    from scipy import ndimage

    dist = cv2.distanceTransform(blob, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    if dist.max() > EXACT_CV_DISTANCE:
        return ndimage.distance_transform_edt(blob)
    return np.sqrt(np.rint(dist.astype(np.float64) ** 2))


def _polygons(parts: np.ndarray, geotransform) -> list:
    """(OGR polygon, region) of the regions 1..n of `parts` (4-connected, exact pixel edges), by GDAL Polygonize
    as rasterio's shapes runs it, without its GeoJSON round trip or a GDAL environment per call (any thread)."""
    from osgeo import gdal, ogr

    mem = gdal.GetDriverByName("MEM").Create("", parts.shape[1], parts.shape[0], 1, gdal.GDT_Int32)
    mem.SetGeoTransform(geotransform)
    band = mem.GetRasterBand(1)
    band.WriteArray(parts)
    vec = ogr.GetDriverByName("Memory").CreateDataSource("parts")  # held while its layer is read
    layer = vec.CreateLayer("parts", geom_type=ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("part", ogr.OFTInteger))
    if gdal.Polygonize(band, band, layer, 0, []) != 0:  # the band as its own mask: background is skipped
        raise BuildSegError("Polygonizing the separated buildings failed: " + gdal.GetLastErrorMsg())
    return [(feat.GetGeometryRef().Clone(), feat.GetField(0)) for feat in layer]


def _pixel_box(geom, gt, crops) -> tuple:
    """(row0, col0, row1, col1) of the blob on the mask grid, one pixel of margin around it: from its pixels
    when given, else from the four corners of its envelope (a rotated grid turns them)."""
    if crops:
        return (min(r for r, _, p, *_ in crops) - 1, min(c for _, c, p, *_ in crops) - 1,
                max(r + p.shape[0] for r, _, p, *_ in crops) + 1, max(c + p.shape[1] for _, c, p, *_ in crops) + 1)
    minx, maxx, miny, maxy = geom.GetEnvelope()
    cols, rows = zip(*(~gt * corner for corner in ((minx, miny), (minx, maxy), (maxx, miny), (maxx, maxy))))
    return (int(np.floor(min(rows))) - 1, int(np.floor(min(cols))) - 1, int(np.ceil(max(rows))) + 1,
            int(np.ceil(max(cols))) + 1)


def h_maxima_markers(dist: np.ndarray, h: float, blob: np.ndarray):
    """`label(h_maxima(dist, h) & blob)` (8-connected markers), or None where it holds one marker at most; the
    same values, found without sorting the blob's pixels. `dist`: the distance transform of the bool `blob`,
    with a margin of zeros.

    h_maxima keeps the pixels where dist - rec >= h, rec being the grey-level reconstruction of its seed
    (dist - h, less a tiny resolution) under dist. Such pixels are local maxima (no neighbour higher), and
    neighbouring local maxima are equal, so each 8-connected plateau of local maxima (value v) is kept or not
    as a whole: rec there is the highest seed reachable along a path whose pixels all stay above it. With r the
    largest float for which v - r >= h, the plateau is kept exactly when no pixel of its 8-connected component
    of {dist > r} has a seed above r. One connected-components pass per distinct r; blobs with more distinct
    plateau heights than MAX_LEVELS go to h_maxima itself."""
    import cv2
    from skimage.measure import label
    from skimage.morphology import h_maxima

    if h > dist.max():  # h_maxima finds nothing
        return None
    local = (dist >= cv2.dilate(dist, np.ones((3, 3), np.uint8))) & (dist > 0)
    count, plateau = cv2.connectedComponents(local.view(np.uint8), connectivity=8)
    if count <= 2:  # background and one plateau
        return None
    tops = np.flatnonzero(plateau)  # the local maxima (few): a pixel of each plateau 1..count-1 among them
    first = tops[np.unique(plateau.ravel()[tops], return_index=True)[1]]
    heights = dist.ravel()[first].tolist()
    if len(set(heights)) > MAX_LEVELS:
        markers = label(h_maxima(dist, h) & blob)
        return markers if markers.max() > 1 else None
    seed = dist - h - 2 * np.finfo(np.float64).resolution * np.abs(dist)  # h_maxima's seed, to the bit
    grown = seed
    for _ in range(QUICK_STEPS):  # a few geodesic dilations: below the reconstruction, they rule out most bumps
        grown = np.minimum(cv2.dilate(grown, np.ones((3, 3), np.uint8)), dist)
    left = [k for k, i in enumerate(first, start=1) if dist.flat[i] - grown.flat[i] >= h]
    if len(left) <= 1:
        return None
    top_seed, kept = seed.max(), []
    for v in set(heights[k - 1] for k in left):  # the plateaus left, one height at a time
        at_v = [k for k in left if heights[k - 1] == v]
        r = _highest_below(v, h)
        if top_seed <= r:  # no seed above r anywhere (the highest plateaus): kept
            kept += at_v
            continue
        n, comp = cv2.connectedComponents((dist > r).view(np.uint8), connectivity=8)
        higher = np.zeros(n, bool)  # the components of {dist > r} that hold a seed above r
        higher[comp[seed > r]] = True
        kept += [k for k in at_v if not higher[comp.flat[first[k - 1]]]]
    if len(kept) <= 1:
        return None
    markers = label(np.isin(plateau, kept) & blob)
    return markers if markers.max() > 1 else None


def _highest_below(v: float, h: float) -> float:
    """The largest float r with v - r >= h (in float64, as h_maxima compares), by bisection between floats
    (v - r does not fall with every step of r: near 0 many floats round to the same difference)."""
    pad = 4 * math.ulp(max(abs(v), abs(h), 1.0))
    lo, hi = v - h - pad, v - h + pad  # lo satisfies it, hi does not
    while v - lo < h:
        lo -= pad
    while v - hi >= h:
        hi += pad
    while math.nextafter(lo, math.inf) < hi:
        mid = lo + (hi - lo) / 2
        mid = mid if lo < mid < hi else math.nextafter(lo, math.inf)
        if v - mid >= h:
            lo = mid
        else:
            hi = mid
    return lo


def merge_wide_necks(parts: np.ndarray, dist: np.ndarray, neck: float) -> np.ndarray:
    """`parts` (watershed regions 1..n) with every two neighbours joined whose shared border is wide: saddle
    distance at least `neck` times the smaller region's peak distance. Widest borders are judged first, against
    the peaks of the regions merged so far. Regions are renumbered 1..m."""
    from scipy import ndimage

    n = int(parts.max())
    peak = np.zeros(n + 1)
    if n <= 16:  # a few regions: one pass each beats scipy's sort of every pixel by label
        flat_parts, flat_dist = parts.ravel(), dist.ravel()
        peak[1:] = [flat_dist[flat_parts == k].max() for k in range(1, n + 1)]
    else:
        peak[1:] = ndimage.maximum(dist, parts, index=np.arange(1, n + 1))
    a, b, d = [], [], []
    for pa, pb, da, db in ((parts[:, :-1], parts[:, 1:], dist[:, :-1], dist[:, 1:]),
                           (parts[:-1], parts[1:], dist[:-1], dist[1:])):
        sel = (pa > 0) & (pb > 0) & (pa != pb)
        a.append(np.minimum(pa, pb)[sel])
        b.append(np.maximum(pa, pb)[sel])
        d.append(np.minimum(da, db)[sel])
    a, b, d = np.concatenate(a), np.concatenate(b), np.concatenate(d)
    pairs, inverse = np.unique(a * (n + 1) + b, return_inverse=True)
    saddle = np.zeros(len(pairs))
    np.maximum.at(saddle, inverse, d)
    root = np.arange(n + 1)

    def find(k):
        while root[k] != k:
            root[k] = root[root[k]]
            k = root[k]
        return k

    for k in np.argsort(-saddle):
        ra, rb = find(pairs[k] // (n + 1)), find(pairs[k] % (n + 1))
        if ra != rb and saddle[k] >= neck * min(peak[ra], peak[rb]):
            root[rb] = ra
            peak[ra] = max(peak[ra], peak[rb])
    groups = np.array([find(k) for k in range(n + 1)])
    _, renumbered = np.unique(groups, return_inverse=True)  # group of background (0) stays 0
    return renumbered.reshape(groups.shape)[parts].astype(np.int32)
