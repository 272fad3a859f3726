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


def split_blob(geom, geotransform, h: float = 2.0, neck: float = 0.5) -> list:
    """OGR polygons of `geom` (an OGR polygon on the mask grid) after splitting at narrow waists."""
    from osgeo import ogr
    from rasterio.features import rasterize, shapes
    from rasterio.transform import Affine
    from scipy import ndimage
    from skimage.measure import label
    from skimage.morphology import h_maxima
    from skimage.segmentation import watershed

    gt = Affine.from_gdal(*geotransform)
    minx, maxx, miny, maxy = geom.GetEnvelope()
    col0, row0 = ~gt * (minx, maxy)
    col1, row1 = ~gt * (maxx, miny)
    c0, r0 = int(np.floor(min(col0, col1))) - 1, int(np.floor(min(row0, row1))) - 1
    c1, r1 = int(np.ceil(max(col0, col1))) + 1, int(np.ceil(max(row0, row1))) + 1
    wt = gt * Affine.translation(c0, r0)
    blob = rasterize([(json.loads(geom.ExportToJson()), 1)], out_shape=(r1 - r0, c1 - c0), transform=wt,
                     fill=0, dtype="uint8")
    dist = ndimage.distance_transform_edt(blob)
    markers = label(h_maxima(dist, h) & (blob > 0))
    if markers.max() < 2:
        return [geom]
    parts = merge_wide_necks(watershed(-dist, markers, mask=blob > 0).astype(np.int32), dist, neck)
    if parts.max() < 2:
        return [geom]
    return [ogr.CreateGeometryFromJson(json.dumps(g))
            for g, v in shapes(parts, mask=parts > 0, transform=wt, connectivity=4) if v > 0]


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
