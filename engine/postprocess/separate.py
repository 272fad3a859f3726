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

import numpy as np

GROWN_PIXELS = 6000  # blobs up to this many pixels (bounding box) grow the reconstruction (h_maxima_markers)
GROWN_STEPS = 64  # dilations at most, then h_maxima


def split_blob(geom, geotransform, h: float = 2.0, neck: float = 0.5, crops=None) -> list:
    """OGR polygons of `geom` (an OGR polygon on the mask grid) after splitting at narrow waists. `crops`: its
    pixels, as (first row, first column, bool pixels, ...) pieces on the mask grid, spare drawing the polygon
    again (the same pixels: its edges are theirs)."""
    from osgeo import ogr
    from rasterio.features import rasterize, shapes
    from rasterio.transform import Affine
    from scipy import ndimage
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
    dist = ndimage.distance_transform_edt(blob)
    markers = h_maxima_markers(dist, h, blob > 0)
    if markers is None:
        return [geom]
    parts = merge_wide_necks(watershed(-dist, markers, mask=blob > 0).astype(np.int32), dist, neck)
    if parts.max() < 2:
        return [geom]
    return [ogr.CreateGeometryFromJson(json.dumps(g))
            for g, v in shapes(parts, mask=parts > 0, transform=wt, connectivity=4) if v > 0]


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
    same values, found faster for most blobs. `dist`: the distance transform of the bool `blob`, with a margin of
    zeros.

    Every h-maximum pixel is a local maximum (no neighbour higher) and neighbouring local maxima are equal, so
    local maxima forming one 8-connected set are the one top plateau: one marker. Otherwise the grey-level
    reconstruction h_maxima rests on (of dist - h under dist) is grown by 3 x 3 dilations: a local maximum
    whose reconstruction rises within h of it is no marker, so once every local maximum but one plateau is
    ruled out there is one marker, and a reconstruction that stops changing is exact (the same minima and maxima
    of the same float values as scikit-image's). Large blobs, slow to converge, go to h_maxima itself."""
    import cv2
    from skimage.measure import label
    from skimage.morphology import h_maxima

    if h > dist.max():  # h_maxima finds nothing
        return None
    square = np.ones((3, 3), np.uint8)
    local = (dist >= cv2.dilate(dist, square)) & (dist > 0)
    count, plateau = cv2.connectedComponents(local.view(np.uint8), connectivity=8)
    if count <= 2:  # background and one plateau
        return None
    if dist.size <= GROWN_PIXELS:
        rec = dist - h - 2 * np.finfo(np.float64).resolution * np.abs(dist)  # h_maxima's seed, to the bit
        for step in range(1, GROWN_STEPS + 1):
            grown = np.minimum(cv2.dilate(rec, square), dist)
            if step % 4 == 0:
                if np.array_equal(grown, rec):  # converged: the reconstruction itself
                    markers = label(((dist - rec) >= h) & blob)
                    return markers if markers.max() > 1 else None
                left = plateau[local & ((dist - grown) >= h)]  # plateaus not yet ruled out
                if left.size == 0 or left.min() == left.max():
                    return None
            rec = grown
    markers = label(h_maxima(dist, h) & blob)
    return markers if markers.max() > 1 else None


def merge_wide_necks(parts: np.ndarray, dist: np.ndarray, neck: float) -> np.ndarray:
    """`parts` (watershed regions 1..n) with every two neighbours joined whose shared border is wide: saddle
    distance at least `neck` times the smaller region's peak distance. Widest borders are judged first, against
    the peaks of the regions merged so far. Regions are renumbered 1..m."""
    from scipy import ndimage

    n = int(parts.max())
    peak = np.zeros(n + 1)
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
