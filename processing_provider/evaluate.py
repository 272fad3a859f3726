"""Evaluate building extraction: prediction (mask or polygons) vs reference (polygons or mask)."""

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterVectorDestination,
)

from . import layers
from .base import BuildSegAlgorithm, FeedbackProgress
from .styling import StyleLayer

METRICS = [  # every metric is also an output, for the model designer and qgis_process --json
    ("PIXEL_IOU", "Building IoU (pixels)"), ("PIXEL_F1", "Building F1 (pixels)"),
    ("PIXEL_PRECISION", "Building precision (pixels)"), ("PIXEL_RECALL", "Building recall (pixels)"),
    ("PIXEL_ACCURACY", "Pixel accuracy"), ("MEAN_IOU", "Mean IoU"), ("BACKGROUND_IOU", "Background IoU"),
    ("PIXELS_EVALUATED", "Pixels evaluated"), ("PIXEL_IOU_PER_TILE_MEAN", "Mean of per-tile building IoU"),
    ("TILES_AVERAGED", "Tiles averaged"), ("OBJECT_TP", "Matched buildings (IoU >= threshold)"),
    ("OBJECT_FP", "Predicted buildings without a match"), ("OBJECT_FN", "Reference buildings without a match"),
    ("OBJECT_PRECISION", "Building-level precision"), ("OBJECT_RECALL", "Building-level recall"),
    ("OBJECT_F1", "Building-level F1"), ("COUNT_PREDICTED", "Predicted buildings"),
    ("COUNT_REFERENCE", "Reference buildings"), ("COUNT_ERROR", "Relative count error"),
]


class Evaluate(BuildSegAlgorithm):
    INPUT = "INPUT"
    PREDICTED_POLYGONS = "PREDICTED_POLYGONS"
    LABELS = "LABELS"
    REFERENCE_RASTER = "REFERENCE_RASTER"
    AOI = "AOI"
    CLASS_ID = "CLASS_ID"
    IOU_THRESHOLD = "IOU_THRESHOLD"
    PER_TILE = "PER_TILE"
    PIXEL_SIZE = "PIXEL_SIZE"
    OUTPUT = "OUTPUT"
    OUTPUT_REPORT = "OUTPUT_REPORT"

    NAME = "evaluate"
    DISPLAY = "Evaluate building extraction"
    GROUP = "analysis"
    README_ANCHOR = "evaluate-building-extraction"
    NEEDS = ("rasterio",)
    HELP = (
        "Measures how good an extraction is against reference buildings.\n\n"
        "Prediction: a <b>mask raster</b> (e.g. the building mask of 'Extract buildings'; pixels equal to the "
        "<b>class id</b> are buildings, 255 is nodata) or <b>predicted polygons</b>. Reference: <b>reference "
        "polygons</b> or a <b>reference raster</b> of class ids. Only the ground of the raster counts, less its "
        "nodata (a reference layer of a whole city against one image: the buildings beyond the image, or outside "
        "the extraction's area, are not missed). <b>Area</b>: "
        "optional polygons outside which nothing counts; a building cut by its edge (or the raster's) is judged by "
        "its part inside. Polygons against polygons span both layers: give the extracted area as <b>Area</b>.\n"
        "Pixel metrics: building IoU, F1 (Dice), precision, recall, accuracy, background and mean IoU, from one "
        "confusion matrix over the whole area, or also averaged over 512 px tiles (<b>per-tile</b>). Polygon vs "
        "polygon is compared on a grid of <b>pixel size</b> map units.\n"
        "Building metrics (the SpaceNet metric): predicted and reference buildings matched one to one at IoU >= "
        "the <b>IoU threshold</b> (0.5): TP, FP, FN, precision, recall, F1, and the count error.\n\n"
        "Outputs: a table (.csv, or .html) and a layer of matched (TP), false (FP) and missed (FN) buildings "
        "with their IoU, styled in three colours.")

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Predicted mask raster"),
                                                            optional=True))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.PREDICTED_POLYGONS, self.tr("Predicted polygons (instead of a mask)"),
            [QgsProcessing.TypeVectorPolygon], optional=True))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.LABELS, self.tr("Reference polygons"), [QgsProcessing.TypeVectorPolygon], optional=True))
        self.addParameter(QgsProcessingParameterRasterLayer(self.REFERENCE_RASTER,
                                                            self.tr("Reference raster (instead of polygons)"),
                                                            optional=True))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.AOI, self.tr("Area evaluated"), [QgsProcessing.TypeVectorPolygon], optional=True))
        self.addParameter(QgsProcessingParameterNumber(self.CLASS_ID, self.tr("Building class id in rasters"),
                                                       QgsProcessingParameterNumber.Integer, 1, False, 0, 254))
        self.addParameter(QgsProcessingParameterNumber(self.IOU_THRESHOLD, self.tr("Building match IoU threshold"),
                                                       QgsProcessingParameterNumber.Double, 0.5, False, 0.01, 1.0))
        self.addParameter(QgsProcessingParameterBoolean(self.PER_TILE, self.tr("Also average IoU per tile"), False))
        self.addParameter(QgsProcessingParameterNumber(self.PIXEL_SIZE, self.tr("Pixel size (polygons only)"),
                                                       QgsProcessingParameterNumber.Double, 0.5, False, 0.01))
        self.addParameter(QgsProcessingParameterFileDestination(self.OUTPUT_REPORT, self.tr("Metrics table"),
                                                                "CSV files (*.csv);;HTML files (*.html)"))
        self.addParameter(QgsProcessingParameterVectorDestination(
            self.OUTPUT, self.tr("TP / FP / FN buildings"), QgsProcessing.TypeVectorPolygon, optional=True))
        self.declare_outputs(*[(name, "number", label) for name, label in METRICS])

    def compute(self, parameters, context, feedback):
        from ..engine.evaluation.evaluate import EvalParams, evaluate

        pred_layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        ref_layer = self.parameterAsRasterLayer(parameters, self.REFERENCE_RASTER, context)
        pred_src = self.parameterAsSource(parameters, self.PREDICTED_POLYGONS, context)
        ref_src = self.parameterAsSource(parameters, self.LABELS, context)
        if (pred_layer is None) == (pred_src is None):
            raise QgsProcessingException("Give either a predicted mask raster or predicted polygons.")
        if (ref_layer is None) == (ref_src is None):
            raise QgsProcessingException("Give either reference polygons or a reference raster.")
        grid_layer = pred_layer or ref_layer
        crs = grid_layer.crs() if grid_layer is not None else ref_src.sourceCrs()

        def shapes(src, what):
            return [g for g, _ in layers.shapes(src, crs, context, feedback, what=what)] if src else None

        aoi_src = self.parameterAsSource(parameters, self.AOI, context)
        table = self.parameterAsFileOutput(parameters, self.OUTPUT_REPORT, context)
        features = self.parameterAsOutputLayer(parameters, self.OUTPUT, context) if parameters.get(self.OUTPUT) \
            else None
        params = EvalParams(target_id=self.parameterAsInt(parameters, self.CLASS_ID, context),
                            iou_threshold=self.parameterAsDouble(parameters, self.IOU_THRESHOLD, context),
                            per_tile=self.parameterAsBool(parameters, self.PER_TILE, context),
                            pixel_size=self.parameterAsDouble(parameters, self.PIXEL_SIZE, context))
        metrics = self.run_engine(
            evaluate, pred_raster=layers.raster_file(pred_layer, "predicted mask") if pred_layer else None,
            pred_shapes=shapes(pred_src, "predicted polygons"),
            ref_raster=layers.raster_file(ref_layer, "reference raster") if ref_layer else None,
            ref_shapes=shapes(ref_src, "reference polygons"), aoi=shapes(aoi_src, "area evaluated"),
            params=params, out_table=table, out_features=features, crs_wkt=crs.toWkt(),
            progress=FeedbackProgress(feedback))
        for k, v in metrics.items():
            feedback.pushInfo(f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}")
        out = {self.OUTPUT_REPORT: table, **{k.upper(): v for k, v in metrics.items()}}
        if features:
            StyleLayer.attach(context, features, "evaluation.qml", "Evaluation (TP / FP / FN)")
            out[self.OUTPUT] = features
        return out
