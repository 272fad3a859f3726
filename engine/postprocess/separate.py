"""Split touching buildings: watershed on the distance transform of each building blob.

Blob by blob (memory bounded by the largest building): markers are the h-maxima of the distance to the
blob's edge, so a narrow waist between two houses (a saddle at least `h` pixels lower than both peaks)
splits them, while the flat ridge of one long building does not.
"""

import json

import numpy as np


def split_blob(geom, geotransform, h: float = 2.0) -> list:
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
    parts = watershed(-dist, markers, mask=blob > 0).astype(np.int32)
    return [ogr.CreateGeometryFromJson(json.dumps(g))
            for g, v in shapes(parts, mask=parts > 0, transform=wt, connectivity=4) if v > 0]
