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

from .base import BuildSegAlgorithm
from .layers import source_path
from .sinks import atomic_sink
from .styling import StyleLayer


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
        "For every polygon: stair-steps are removed (simplification by the <b>tolerance</b>, map units, "
        "typically the pixel size); the building's dominant direction is found from its edges; if the "
        "rectangle along that direction covers the shape well (IoU >= <b>rectangle IoU</b>, 0.85) the "
        "rectangle is used; otherwise every edge within the <b>angle tolerance</b> (degrees) of the dominant "
        "direction or its perpendicular is squared; shapes with other edges (curved, irregular), or that "
        "squaring would move by more than twice the tolerance, keep their simplified outline.")

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.addParameter(QgsProcessingParameterFeatureSource(self.INPUT, self.tr("Building polygons"),
                                                              [QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterNumber(self.TOLERANCE, self.tr("Tolerance (map units)"),
                                                       QgsProcessingParameterNumber.Double, 1.0, False, 0.0))
        self.addParameter(QgsProcessingParameterNumber(self.ANGLE_TOLERANCE, self.tr("Angle tolerance (degrees)"),
                                                       QgsProcessingParameterNumber.Double, 20.0, False, 0.0, 44.0))
        self.addParameter(QgsProcessingParameterNumber(self.RECTANGLE_IOU, self.tr("Rectangle IoU"),
                                                       QgsProcessingParameterNumber.Double, 0.85, False, 0.0, 1.0))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Regularized buildings"),
                                                            QgsProcessing.TypeVectorPolygon))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 - QGIS API name
        from osgeo import ogr

        from ..engine.regularize import RegularizeParams, regularize

        source = self.parameterAsSource(parameters, self.INPUT, context)
        params = RegularizeParams(tolerance=self.parameterAsDouble(parameters, self.TOLERANCE, context),
                                  angle_tolerance=self.parameterAsDouble(parameters, self.ANGLE_TOLERANCE, context),
                                  rectangle_iou=self.parameterAsDouble(parameters, self.RECTANGLE_IOU, context))
        with atomic_sink(self, parameters, self.OUTPUT, context, source.fields(), source.wkbType(),
                         source.sourceCrs(), inputs=[source_path(parameters, self.INPUT, context, self)]) \
                as (sink, dest):
            total = max(1, source.featureCount())
            for i, feat in enumerate(source.getFeatures()):
                if feedback.isCanceled():
                    raise QgsProcessingException("Cancelled by the user; no output was written.")
                geom = feat.geometry()
                if not geom.isEmpty():
                    out = regularize(ogr.CreateGeometryFromWkb(bytes(geom.asWkb())), params)
                    new = QgsGeometry()
                    new.fromWkb(bytes(out.ExportToWkb()))
                    if geom.isMultipart():
                        new.convertToMultiType()
                    feat.setGeometry(new)
                sink.addFeature(feat, QgsFeatureSink.FastInsert)
                feedback.setProgress(100.0 * (i + 1) / total)
        StyleLayer.attach(context, dest, "buildings.qml", "Regularized buildings")
        return {self.OUTPUT: dest}
