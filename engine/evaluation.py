"""Pixel accuracy of a predicted mask raster against reference polygons or a reference class raster."""

import json

import numpy as np

from .labels import IGNORE
from .metrics import confusion, scores


def reference_from_polygons(shapes, like) -> np.ndarray:
    """Rasterize (GeoJSON, class id) shapes onto the grid of the open rasterio dataset `like`."""
    from rasterio.features import rasterize

    if not shapes:
        return np.zeros(like.shape, np.uint8)
    return rasterize(shapes, out_shape=like.shape, transform=like.transform, fill=0, dtype="uint8")


def polygons_from_file(path: str, target_crs_wkt: str, value: int = 1):
    """(GeoJSON, value) of every polygon of an OGR file, reprojected to the target CRS."""
    from osgeo import ogr, osr

    ds = ogr.Open(path)
    layer = ds.GetLayer(0)
    dst = osr.SpatialReference()
    dst.ImportFromWkt(target_crs_wkt)
    dst.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    src = layer.GetSpatialRef()
    tr = None
    if src is not None and not src.IsSame(dst):
        src.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        tr = osr.CoordinateTransformation(src, dst)
    out = []
    for f in layer:
        g = f.GetGeometryRef()
        if g is None or g.IsEmpty():
            continue
        g = g.Clone()
        if tr:
            g.Transform(tr)
        out.append((json.loads(g.ExportToJson()), value))
    return out


def binary_confusion(pred_path: str, reference, target: int = 1, ignore_values=()):
    """2x2 confusion of building (target) vs the rest; `reference` is an array on the mask's grid or a path.

    Pixels where the prediction is nodata (255) or the reference is IGNORE / in `ignore_values` do not count.
    """
    import rasterio

    with rasterio.open(pred_path) as p:
        pred = p.read(1)
    ref = reference
    if isinstance(reference, str):
        with rasterio.open(reference) as r:
            ref = r.read(1)
    ignore = (pred == 255) | np.isin(ref, list(ignore_values) + [IGNORE])
    pb = (pred == target).astype(np.uint8)
    rb = (ref == target).astype(np.uint8)
    rb[ignore] = IGNORE
    return confusion(pb, rb, 2)


__all__ = ["binary_confusion", "polygons_from_file", "reference_from_polygons", "scores"]
