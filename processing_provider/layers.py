"""QGIS layers -> what the engine takes: file paths and GeoJSON shapes in the raster's CRS."""

import json
import os

from qgis.core import (
    QgsCoordinateTransform,
    QgsFeatureRequest,
    QgsProcessingException,
    QgsRasterLayer,
)


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
    request = QgsFeatureRequest().setInvalidGeometryCheck(QgsFeatureRequest.GeometryNoCheck)
    if extent is not None:
        request.setFilterRect(tr.transformBoundingBox(extent, QgsCoordinateTransform.ReverseTransform))
    for feat in source.getFeatures(request):
        if feedback and feedback.isCanceled():
            break
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
    from ..engine.labels import geojson_bounds

    xmin, ymin, xmax, ymax = raster_extent
    for g, _ in shapes_:
        a, b, c, d = geojson_bounds(g)
        if a <= xmax and c >= xmin and b <= ymax and d >= ymin:
            return True
    return False
