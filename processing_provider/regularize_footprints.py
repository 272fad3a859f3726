"""Regularize building footprints: polygons in, squared-up polygons out, attributes kept."""

from qgis.core import (
    QgsFeatureSink,
    QgsGeometry,
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterNumber,
)

from ..engine.core.errors import Cancelled
from .base import BuildSegAlgorithm
from .layers import source_path
from .sinks import atomic_sink
from .styling import StyleLayer


def _metres_to_map_units(crs, extent, context, feedback) -> float:
    """Map units in one metre: the CRS's unit, or where a projected CRS stretches the ground by more than
    1 % (Web Mercator away from the equator) as measured on the ellipsoid at the layer's centre."""
    from qgis.core import QgsUnitTypes

    from ..engine.io.raster import DISTORTION
    from .layer_source import metres_per_unit

    factor = QgsUnitTypes.fromUnitToUnitFactor(QgsUnitTypes.DistanceMeters, crs.mapUnits())
    if crs.isGeographic():
        feedback.pushInfo(f"The layer is in degrees ({crs.authid()}): the tolerance becomes {factor:.3g} degrees "
                          "per metre.")
    elif not extent.isEmpty():
        measured = 1.0 / metres_per_unit(crs, extent, context)
        if abs(measured / factor - 1) > DISTORTION:
            feedback.pushInfo(f"{crs.authid()} stretches the ground here: one metre is {measured:.3g} map units.")
            return measured
    return factor


class RegularizeFootprints(BuildSegAlgorithm):
    INPUT = "INPUT"
    TOLERANCE = "TOLERANCE"
    ANGLE_TOLERANCE = "ANGLE_TOLERANCE"
    RECTANGLE_IOU = "RECTANGLE_IOU"
    OUTPUT = "OUTPUT"

    NAME = "regularizefootprints"
    DISPLAY = "Regularize building footprints"
    GROUP = "tools"
    README_ANCHOR = "regularize-building-footprints"
    NEEDS = ()
    HELP = (
        "Turns jagged footprints (such as polygons traced from a mask) into map-ready ones; attributes are "
        "kept, the input layer is not changed.\n\n"
        "For every polygon: stair-steps are removed (simplification by the <b>tolerance</b> in metres, typically "
        "the pixel size; converted to the layer's units, degrees included, so a geographic layer is treated like "
        "a projected one); the building's dominant direction is found from its edges; if the "
        "rectangle along that direction covers the shape well (IoU >= <b>rectangle IoU</b>, 0.85) the "
        "rectangle is used; otherwise every edge within the <b>angle tolerance</b> (degrees) of the dominant "
        "direction or its perpendicular is squared; shapes with other edges (curved, irregular), or that "
        "squaring would move by more than twice the tolerance, keep their simplified outline.")

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.addParameter(QgsProcessingParameterFeatureSource(self.INPUT, self.tr("Building polygons"),
                                                              [QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterNumber(self.TOLERANCE, self.tr("Tolerance (metres)"),
                                                       QgsProcessingParameterNumber.Double, 1.0, False, 0.0))
        self.addParameter(QgsProcessingParameterNumber(self.ANGLE_TOLERANCE, self.tr("Angle tolerance (degrees)"),
                                                       QgsProcessingParameterNumber.Double, 20.0, False, 0.0, 44.0))
        self.addParameter(QgsProcessingParameterNumber(self.RECTANGLE_IOU, self.tr("Rectangle IoU"),
                                                       QgsProcessingParameterNumber.Double, 0.85, False, 0.0, 1.0))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Regularized buildings"),
                                                            QgsProcessing.TypeVectorPolygon))

    def compute(self, parameters, context, feedback):
        from osgeo import ogr

        from ..engine.postprocess.regularize import RegularizeParams, regularize

        source = self.parameterAsSource(parameters, self.INPUT, context)
        tolerance = self.parameterAsDouble(parameters, self.TOLERANCE, context) * _metres_to_map_units(
            source.sourceCrs(), source.sourceExtent(), context, feedback)
        params = RegularizeParams(tolerance=tolerance,
                                  angle_tolerance=self.parameterAsDouble(parameters, self.ANGLE_TOLERANCE, context),
                                  rectangle_iou=self.parameterAsDouble(parameters, self.RECTANGLE_IOU, context))
        with atomic_sink(self, parameters, self.OUTPUT, context, source.fields(), source.wkbType(),
                         source.sourceCrs(), inputs=[source_path(parameters, self.INPUT, context, self)]) \
                as (sink, dest):
            total = max(1, source.featureCount())
            for i, feat in enumerate(source.getFeatures()):
                if feedback.isCanceled():
                    raise Cancelled()
                geom = feat.geometry()
                if not geom.isEmpty():
                    out = regularize(ogr.CreateGeometryFromWkb(bytes(geom.asWkb())), params)
                    new = QgsGeometry()
                    new.fromWkb(bytes(out.ExportToWkb()))
                    if geom.isMultipart():
                        new.convertToMultiType()
                    feat.setGeometry(new)
                if not sink.addFeature(feat, QgsFeatureSink.FastInsert):
                    raise QgsProcessingException(f"Writing the output failed: {sink.lastError() or 'unknown error'} "
                                                 "(is the disk full?). Nothing was written.")
                feedback.setProgress(100.0 * (i + 1) / total)
        StyleLayer.attach(context, dest, "buildings.qml", "Regularized buildings")
        return {self.OUTPUT: dest}
