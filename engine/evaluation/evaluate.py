"""Evaluate building extraction: pixel metrics (global or per-tile averaged) and building-level metrics
(one-to-one matches at IoU >= 0.5), with a table and a TP / FP / FN layer; plus the helpers the accuracy
benchmark and the demo use to score a mask."""

import csv
import html
import json
import os
from dataclasses import dataclass

import numpy as np

from ..core.atomic import atomic_path, check_writable
from ..core.errors import BuildSegError
from ..core.options import MASK_NODATA
from ..core.progress import Progress
from ..io.labels import IGNORE, geojson_bounds, is_binary_255
from ..postprocess.vectorize import driver_for
from .matching import match
from .metrics import confusion, scores


@dataclass
class EvalParams:
    target_id: int = 1  # building class id in mask rasters
    iou_threshold: float = 0.5
    per_tile: bool = False  # average pixel IoU over tiles instead of one global confusion matrix
    tile: int = 512
    pixel_size: float = 0.5  # grid for polygon-vs-polygon evaluation, in map units
    ref_ignore: tuple = ()  # reference raster values that are not labelled


def _grid(raster_path, shapes, pixel_size):
    """(transform, (height, width), crs wkt or None) of the raster, or around the shapes."""
    import rasterio
    from rasterio.transform import from_origin

    if raster_path:
        with rasterio.open(raster_path) as ds:
            return ds.transform, ds.shape, ds.crs.to_wkt() if ds.crs else None
    b = np.array([geojson_bounds(g) for g in shapes])
    if not len(b):
        raise BuildSegError("Nothing to evaluate: both the prediction and the reference are empty.")
    minx, miny, maxx, maxy = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    w, h = int(np.ceil((maxx - minx) / pixel_size)) + 1, int(np.ceil((maxy - miny) / pixel_size)) + 1
    if w * h > 2e9:
        raise BuildSegError("The evaluation grid would be too large: raise the pixel size.")
    return from_origin(minx, maxy, pixel_size, pixel_size), (h, w), None


def _class_raster(path, transform, shape, target_id, ignore_values):
    """Binary building raster (IGNORE for nodata/unlabelled) resampled onto the grid if needed."""
    import rasterio
    from rasterio.warp import Resampling, reproject

    with rasterio.open(path) as ds:
        data = np.full(shape, 254, np.uint8)
        reproject(rasterio.band(ds, 1), data, dst_transform=transform, dst_crs=ds.crs,
                  resampling=Resampling.nearest, dst_nodata=254)
        nodata = ds.nodata
        if target_id == 1 and is_binary_255(ds):  # a 0/255 building mask: 255 is the building
            target_id, nodata = 255, None
    out = (data == target_id).astype(np.uint8)
    bad = data == 254
    if nodata is not None:
        bad |= data == nodata
    for v in ignore_values:
        bad |= data == v
    out[bad] = IGNORE
    return out


def _polygons_of(binary, transform):
    """OGR polygons of the 1-pixels of a binary array."""
    from osgeo import ogr
    from rasterio.features import shapes

    out = []
    for geom, _ in shapes(binary.astype(np.uint8), mask=binary == 1, transform=transform, connectivity=4):
        out.append(ogr.CreateGeometryFromJson(json.dumps(geom)))
    return out


def reference_from_polygons(shapes, like=None, transform=None, shape=None) -> np.ndarray:
    """Rasterize (GeoJSON, class id) shapes onto the grid of the open rasterio dataset `like`, or onto
    `transform` and `shape`."""
    from rasterio.features import rasterize

    if like is not None:
        transform, shape = like.transform, like.shape
    if not shapes:
        return np.zeros(shape, np.uint8)
    return rasterize(shapes, out_shape=shape, transform=transform, fill=0, dtype="uint8")


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
    ignore = (pred == MASK_NODATA) | np.isin(ref, list(ignore_values) + [IGNORE])
    pb = (pred == target).astype(np.uint8)
    rb = (ref == target).astype(np.uint8)
    rb[ignore] = IGNORE
    return confusion(pb, rb, 2)


def evaluate(pred_raster=None, pred_shapes=None, ref_raster=None, ref_shapes=None, aoi=None,
             params: EvalParams = None, out_table: str = None, out_features: str = None, crs_wkt: str = None,
             progress: Progress = None) -> dict:
    """Metrics of a prediction (mask raster or GeoJSON polygons) against a reference (polygons or raster)."""
    from rasterio.features import rasterize

    params = params or EvalParams()
    progress = progress or Progress()
    for out in (out_table, out_features):
        if out:
            check_writable(out, inputs=[pred_raster, ref_raster])
    if (pred_raster is None) == (pred_shapes is None) or (ref_raster is None) == (ref_shapes is None):
        raise BuildSegError("Give one prediction (mask raster or polygons) and one reference (polygons or raster).")
    transform, shape, grid_crs = _grid(pred_raster or ref_raster, (pred_shapes or []) + (ref_shapes or []),
                                       params.pixel_size)
    crs_wkt = crs_wkt or grid_crs

    def binary(raster, shapes_):
        if raster:
            return _class_raster(raster, transform, shape, params.target_id, params.ref_ignore)
        return reference_from_polygons([(g, 1) for g in shapes_ or []], transform=transform, shape=shape)

    pred, ref = binary(pred_raster, pred_shapes), binary(ref_raster, ref_shapes)
    progress.set_progress(30)
    ignore = (pred == IGNORE) | (ref == IGNORE)
    if aoi:
        ignore |= rasterize([(g, 1) for g in aoi], out_shape=shape, transform=transform, fill=0) == 0
    ref_eval = np.where(ignore, IGNORE, ref).astype(np.uint8)
    pred_eval = np.where(pred == 1, 1, 0).astype(np.uint8)
    _check_comparable(pred_eval, ref_eval, ref, pred_shapes, ref_shapes, progress)
    metrics = pixel_metrics(pred_eval, ref_eval, params.tile if params.per_tile else 0)
    progress.set_progress(50)
    region = _region(transform, shape, aoi)
    # a raster's nodata (outside an extraction's area) or unlabelled pixels do not count
    region = _counted(region, ignore, transform) if pred_raster or ref_raster else _Region(region)
    geoms = {name: _buildings(shapes_, arr, ignore, transform, region)
             for name, shapes_, arr in (("pred", pred_shapes, pred), ("ref", ref_shapes, ref))}
    if pred_shapes is not None and ref_shapes is not None and not aoi:
        _warn_beyond_prediction(geoms["pred"], geoms["ref"], progress)
    objects = match(geoms["pred"], geoms["ref"], params.iou_threshold)
    metrics.update(objects.as_dict(len(geoms["pred"]), len(geoms["ref"])))
    progress.set_progress(80)
    if out_table:
        write_table(out_table, metrics)
    if out_features:
        write_features(out_features, geoms["pred"], geoms["ref"], objects, crs_wkt)
    progress.set_progress(100)
    return metrics


def pixel_metrics(pred, ref, per_tile: int = 0) -> dict:
    """Pixel scores of the building class (`ref` IGNORE pixels do not count); with `per_tile` > 0 also the mean
    building IoU over tiles of that size that hold a building in either."""
    cm = confusion(pred, ref, 2)
    s = scores(cm)
    metrics = {"pixel_iou": s["iou"][1], "pixel_f1": s["f1"][1], "pixel_precision": s["precision"][1],
               "pixel_recall": s["recall"][1], "pixel_accuracy": s["accuracy"], "mean_iou": s["mean_iou"],
               "background_iou": s["iou"][0], "pixels_evaluated": int(cm.sum())}
    if per_tile:
        ious = []
        for y in range(0, pred.shape[0], per_tile):
            for x in range(0, pred.shape[1], per_tile):
                c = confusion(pred[y:y + per_tile, x:x + per_tile], ref[y:y + per_tile, x:x + per_tile], 2)
                if c[1].sum() + c[:, 1].sum() > 0:
                    ious.append(scores(c)["iou"][1])
        metrics["pixel_iou_per_tile_mean"] = float(np.mean(ious)) if ious else 0.0
        metrics["tiles_averaged"] = len(ious)
    return metrics


def box(left: float, bottom: float, right: float, top: float) -> dict:
    """A GeoJSON rectangle."""
    return {"type": "Polygon", "coordinates": [[[left, bottom], [right, bottom], [right, top], [left, top],
                                                [left, bottom]]]}


def raster_extent(path: str) -> dict:
    """The raster's extent as a GeoJSON rectangle in its CRS: the area to give when polygons extracted from it are
    evaluated against a reference layer that covers more ground."""
    import rasterio

    with rasterio.open(path) as src:
        return box(*src.bounds)


def _region(transform, shape, aoi):
    """The ground evaluated (OGR): the grid's box, within the area of interest when one is given."""
    from osgeo import ogr
    from rasterio.transform import array_bounds

    region = ogr.CreateGeometryFromJson(json.dumps(box(*array_bounds(shape[0], shape[1], transform))))
    if aoi:
        area = ogr.Geometry(ogr.wkbMultiPolygon)
        for a in aoi:
            area = area.Union(_valid(ogr.CreateGeometryFromJson(json.dumps(a))))
        region = region.Intersection(area)
    return region


COUNTED_CHUNK = 256  # px: the counted area is traced in blocks of this size, so a building meets small pieces


class _Region:
    """The ground evaluated, for cutting buildings to it: one geometry, or, where it is a raster's counted pixels
    (nodata and unlabelled pixels cut out: thousands of holes), the area within `base` of the pieces traced
    block by block, of which each building meets only those near it (a GEOS predicate against the whole
    traced area took 0.08 s per building, 8 minutes on one Dubai scene)."""

    def __init__(self, base, pieces=None):
        self.base, self.pieces = base, pieces
        self.env = np.array([p.GetEnvelope() for p in pieces or ()]).reshape(-1, 4)  # minx, maxx, miny, maxy

    def near(self, g):
        """The region where it can meet `g` (exactly the region within g's envelope), or None."""
        from osgeo import ogr

        if self.pieces is None:
            return self.base
        a0, a1, a2, a3 = g.GetEnvelope()
        e = self.env
        sel = np.flatnonzero((e[:, 0] <= a1) & (e[:, 1] >= a0) & (e[:, 2] <= a3) & (e[:, 3] >= a2))
        if not len(sel):
            return None
        local = ogr.Geometry(ogr.wkbMultiPolygon)
        for k in sel:
            local.AddGeometry(self.pieces[k])
        return self.base.Intersection(local.UnionCascaded())


def _counted(region, ignore, transform) -> _Region:
    """`region` without the pixels that do not count (nodata, unlabelled, outside the area)."""
    from osgeo import ogr
    from rasterio.features import shapes
    from rasterio.windows import Window
    from rasterio.windows import transform as window_transform

    if not ignore.any():
        return _Region(region)
    chunk, pieces = COUNTED_CHUNK, []
    for r in range(0, ignore.shape[0], chunk):
        for c in range(0, ignore.shape[1], chunk):
            counted = ~ignore[r:r + chunk, c:c + chunk]
            wt = window_transform(Window(c, r, counted.shape[1], counted.shape[0]), transform)
            pieces += [ogr.CreateGeometryFromJson(json.dumps(g))
                       for g, _ in shapes(np.uint8(counted), mask=counted, transform=wt)]
    return _Region(region, pieces)


def _valid(g):
    return g if g.IsValid() else g.MakeValid()


def _within(g, region: "_Region"):
    """The part of building `g` inside `region` (a building cut by the edge is judged by its part inside, as a
    prediction traced on the grid is), or None."""
    area = region.near(g)
    if area is None or area.IsEmpty():
        return None
    (a0, a1, a2, a3), (b0, b1, b2, b3) = g.GetEnvelope(), area.GetEnvelope()
    if a1 < b0 or b1 < a0 or a3 < b2 or b3 < a2:
        return None
    g = _valid(g)  # OSM and hand-drawn layers hold self-crossing rings
    if area.Contains(g):
        return g
    piece = g.Intersection(area)
    if piece is None or piece.IsEmpty():
        return None
    piece = piece.Buffer(0)  # only the areal part of what the cut leaves (no lines or points)
    return piece if not piece.IsEmpty() and piece.GetArea() > 0 else None


def _buildings(shapes_, binary, ignore, transform, region) -> list:
    """OGR building polygons inside the evaluated region: the given GeoJSON shapes cut to it (a reference layer
    may cover far more than the imagery), else traced from the binary raster outside `ignore`."""
    from osgeo import ogr

    if shapes_ is None:
        return _polygons_of(np.where(ignore, 0, binary == 1), transform)
    found = [_within(ogr.CreateGeometryFromJson(json.dumps(g)), region) for g in shapes_]
    return [g for g in found if g is not None]


def _warn_beyond_prediction(pred, ref, progress) -> None:
    """Polygons against polygons without an area: the grid spans both layers, so a reference that covers more
    ground than was extracted counts its buildings there as missed; say so."""
    if not pred or not ref:
        return
    e = np.array([g.GetEnvelope() for g in pred])
    x0, x1, y0, y1 = e[:, 0].min(), e[:, 1].max(), e[:, 2].min(), e[:, 3].max()
    r = np.array([g.GetEnvelope() for g in ref])
    beyond = int(((r[:, 1] < x0) | (r[:, 0] > x1) | (r[:, 3] < y0) | (r[:, 2] > y1)).sum())
    if beyond:
        progress.warn(f"{beyond} of {len(ref)} reference buildings lie beyond the predicted buildings' extent and "
                      "count as missed: give the extracted area (e.g. the image's extent) as the area evaluated "
                      "to judge only the ground that was extracted.")


def _check_comparable(pred, ref, ref_whole, pred_shapes, ref_shapes, progress) -> None:
    """Refuse a comparison that could only report zeros (nothing in common); warn when the reference holds no
    building where it is evaluated."""
    def box(shapes_):
        b = np.array([geojson_bounds(g) for g in shapes_])
        return b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()

    if pred_shapes and ref_shapes:
        (a0, a1, a2, a3), (b0, b1, b2, b3) = box(pred_shapes), box(ref_shapes)
        if a2 < b0 or b2 < a0 or a3 < b1 or b3 < a1:
            raise BuildSegError("The predicted and the reference buildings do not overlap: check that they cover "
                                "the same place (and their CRS).")
    evaluated = ref != IGNORE
    if not evaluated.any():
        raise BuildSegError("Nothing to compare: every pixel lies outside the area of interest or is unlabelled "
                            "in the reference.")
    if ref_shapes and not (ref_whole == 1).any() and (pred == 1).any():
        raise BuildSegError("The reference buildings do not overlap the prediction: check that they cover the "
                            "same place (and their CRS).")
    if not (ref[evaluated] == 1).any():
        progress.warn("The reference holds no building where it is evaluated: building IoU and F1 are 0 by "
                      "definition; check the reference's values (building = 1, or 255 in 0/255 masks).")


def write_table(path: str, metrics: dict) -> None:
    """CSV (metric,value) or, for .html, an HTML table."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        if path.lower().endswith((".html", ".htm")):
            rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:.4f}</td></tr>" if isinstance(v, float) else
                           f"<tr><td>{html.escape(k)}</td><td>{v}</td></tr>" for k, v in metrics.items())
            f.write("<!DOCTYPE html><html><head><meta charset='utf-8'><title>BuildSeg evaluation</title></head>"
                    f"<body><h1>BuildSeg evaluation</h1><table border=1><tr><th>metric</th><th>value</th></tr>{rows}"
                    "</table></body></html>")
        else:
            w = csv.writer(f)
            w.writerow(["metric", "value"])
            for k, v in metrics.items():
                w.writerow([k, round(v, 6) if isinstance(v, float) else v])


def write_features(path: str, pred, ref, objects, crs_wkt) -> None:
    """A polygon layer with field status = TP / FP / FN and the matched IoU."""
    from osgeo import ogr, osr

    srs = None
    if crs_wkt:
        srs = osr.SpatialReference()
        srs.ImportFromWkt(crs_wkt)
    matched_p = {i: iou for i, _, iou in objects.matches}
    matched_r = {j for _, j, _ in objects.matches}
    with atomic_path(path) as tmp:
        ds = ogr.GetDriverByName(driver_for(path)).CreateDataSource(tmp)
        layer = ds.CreateLayer("evaluation", srs=srs, geom_type=ogr.wkbMultiPolygon)
        layer.CreateField(ogr.FieldDefn("status", ogr.OFTString))
        layer.CreateField(ogr.FieldDefn("iou", ogr.OFTReal))
        layer.StartTransaction()
        rows = [(g, "TP" if i in matched_p else "FP", matched_p.get(i)) for i, g in enumerate(pred)]
        rows += [(g, "FN", None) for j, g in enumerate(ref) if j not in matched_r]
        for g, status, iou in rows:
            f = ogr.Feature(layer.GetLayerDefn())
            f.SetField("status", status)
            if iou is not None:
                f.SetField("iou", round(iou, 4))
            f.SetGeometry(ogr.ForceToMultiPolygon(g))
            layer.CreateFeature(f)
        layer.CommitTransaction()
        ds = None  # noqa: F841 - closes the file
    if not os.path.exists(path):
        raise BuildSegError(f"Could not write {path}.")
