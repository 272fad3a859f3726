"""QGIS layers -> what the engine takes: file paths and GeoJSON shapes in the raster's CRS."""

import json
import os

from qgis.core import (
    QgsCoordinateTransform,
    QgsFeatureRequest,
    QgsProcessingException,
    QgsRasterLayer,
    QgsWkbTypes,
)

from ..engine.core.errors import Cancelled


def raster_file(layer: QgsRasterLayer, what: str = "input raster") -> str:
    """The file behind a GDAL raster layer, or a clear error for other layers."""
    if layer is None:
        raise QgsProcessingException(f"The {what} could not be loaded: check the layer or file path.")
    if layer.providerType() != "gdal":
        raise QgsProcessingException(
            f"The {what} '{layer.name()}' is a '{layer.providerType()}' layer, not a file: save it as a GeoTIFF "
            "first (right-click > Export > Save As…, or Raster > Conversion > Translate).")
    path = layer.source().split("|")[0]
    if not os.path.exists(path) and not path.startswith(("/vsi", "HTTP", "http")):
        raise QgsProcessingException(f"The {what} file {path} does not exist.")
    if not layer.crs().isValid():
        raise QgsProcessingException(
            f"The {what} '{layer.name()}' has no coordinate reference system. Assign one (Raster > Projections > "
            "Assign Projection) and run again.")
    return path


def is_web_uri(value) -> bool:
    return isinstance(value, str) and ("url=" in value or value.startswith(("wms:", "xyz:")))


def load_web_layer(value: str, context) -> QgsRasterLayer:
    """Load a web layer URI ('type=xyz&url=...', a WMS URI, optionally prefixed 'wms:') into the context's
    temporary store, named by its URI so that Processing finds it from the parameter value."""
    found = context.temporaryLayerStore().mapLayersByName(value)
    if found:
        return found[0]
    uri = value.split(":", 1)[1] if value.startswith(("wms:", "xyz:")) else value
    layer = QgsRasterLayer(uri, value, "wms")
    if not layer.isValid():
        raise QgsProcessingException(f"Cannot load the web layer '{uri}': check the URL and that the service "
                                     "answers.")
    context.temporaryLayerStore().addMapLayer(layer)
    return layer


def input_raster_layer(alg, parameters, name, context):
    """The raster layer of parameter `name`; a web layer URI is loaded as a web layer."""
    value = parameters.get(name)
    if is_web_uri(value):
        return load_web_layer(value, context)
    return alg.parameterAsRasterLayer(parameters, name, context)


def aoi_shapes(source, crs, context, feedback, raster) -> list:
    """The area of interest as GeoJSON geometries in `crs`; refused when empty or off the raster."""
    aoi = [g for g, _ in shapes(source, crs, context, feedback, what="area of interest")]
    if not aoi:
        raise QgsProcessingException("The area of interest layer has no polygon with an area: draw or choose "
                                     "polygons, or leave the area of interest empty.")
    if not extent_overlaps([(g, 1) for g in aoi], raster_bounds(raster)):
        raise QgsProcessingException("The area of interest does not overlap the input raster: check both layers "
                                     "and their CRS.")
    return aoi


def raster_bounds(raster) -> tuple:
    """(xmin, ymin, xmax, ymax) of a raster file or an engine source."""
    if isinstance(raster, str):
        from osgeo import gdal

        ds = gdal.Open(raster)
        gt, w, h = ds.GetGeoTransform(), ds.RasterXSize, ds.RasterYSize
    else:
        gt, w, h = raster.transform.to_gdal(), raster.width, raster.height
    xs = (gt[0], gt[0] + gt[1] * w)
    ys = (gt[3], gt[3] + gt[5] * h)
    return min(xs), min(ys), max(xs), max(ys)


def source_path(parameters, name, context, alg) -> str:
    """The file behind a vector parameter (to refuse overwriting it), or ''."""
    layer = alg.parameterAsVectorLayer(parameters, name, context)
    return layer.source().split("|")[0] if layer is not None else ""


def shapes(source, target_crs, context, feedback, value_field: str = None, value_map: dict = None,
           what: str = "label layer", extent=None):
    """[(GeoJSON geometry in target_crs, value)] of a feature source; invalid geometries repaired.

    With `extent` (a QgsRectangle in target_crs) only features touching it are read.
    """
    if source is None:
        return []
    if not source.sourceCrs().isValid():
        raise QgsProcessingException(f"The {what} has no valid coordinate reference system: assign one.")
    tr = QgsCoordinateTransform(source.sourceCrs(), target_crs, context.transformContext())
    out, repaired, skipped = [], 0, 0
    polygons = QgsWkbTypes.geometryType(source.wkbType()) == QgsWkbTypes.PolygonGeometry
    request = QgsFeatureRequest().setInvalidGeometryCheck(QgsFeatureRequest.GeometryNoCheck)
    if extent is not None:
        request.setFilterRect(tr.transformBoundingBox(extent, QgsCoordinateTransform.ReverseTransform))
    for feat in source.getFeatures(request):
        if feedback and feedback.isCanceled():
            raise Cancelled()  # never a partial label list taken for the whole
        geom = feat.geometry()
        if geom is None or geom.isEmpty():
            skipped += 1
            continue
        if not geom.isGeosValid():
            geom = geom.makeValid()
            repaired += 1
            if geom.isEmpty():
                skipped += 1
                continue
        if polygons and not geom.area() > 0:  # a zero-area ring (repaired into a line): no ground at all
            skipped += 1
            continue
        geom.transform(tr)
        value = 1
        if value_field:
            raw = feat[value_field]
            if raw is None or raw not in value_map:
                skipped += 1
                continue
            value = value_map[raw]
        out.append((json.loads(geom.asJson()), value))
    if feedback and (repaired or skipped):
        feedback.reportError(f"{what}: repaired {repaired} invalid geometr(ies), skipped {skipped} empty or "
                             "unclassified feature(s).", fatalError=False)
    return out


def extent_overlaps(shapes_, raster_extent) -> bool:
    """Whether any GeoJSON shape's bounds touch the raster extent (xmin, ymin, xmax, ymax)."""
    from ..engine.io.labels import geojson_bounds

    xmin, ymin, xmax, ymax = raster_extent
    for g, _ in shapes_:
        a, b, c, d = geojson_bounds(g)
        if a <= xmax and c >= xmin and b <= ymax and d >= ymin:
            return True
    return False
