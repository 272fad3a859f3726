"""Refine with dense CRF: building probability raster + its image -> sharper building mask."""

from qgis.core import (
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from . import layers
from .base import BuildSegAlgorithm, FeedbackProgress
from .styling import StyleLayer


class RefineCrf(BuildSegAlgorithm):
    INPUT = "INPUT"
    PROBABILITY = "PROBABILITY"
    ITERATIONS = "ITERATIONS"
    GAUSSIAN_SXY = "GAUSSIAN_SXY"
    BILATERAL_SXY = "BILATERAL_SXY"
    BILATERAL_SRGB = "BILATERAL_SRGB"
    BILATERAL_COMPAT = "BILATERAL_COMPAT"
    THRESHOLD = "THRESHOLD"
    TILE_SIZE = "TILE_SIZE"
    OVERLAP = "OVERLAP"
    OUTPUT_MASK = "OUTPUT_MASK"
    OUTPUT_PROBABILITY = "OUTPUT_PROBABILITY"

    NAME = "refinecrf"
    DISPLAY = "Refine with dense CRF"
    GROUP = "tools"
    README_ANCHOR = "weak-supervision-and-dense-crf"
    NEEDS = ("pydensecrf", "rasterio")
    HELP = (
        "Sharpens a building probability map along the image's edges with a fully connected CRF (Krähenbühl "
        "& Koltun): pixels that look alike and lie close together get the same label.\n\n"
        "<b>Input raster</b>: the image the probabilities were computed on (its first three bands, stretched "
        "2-98%).\n<b>Building probability</b>: float 0..1 (negative = nodata) or uint8 0..254 (255 = nodata), "
        "on the image's grid, e.g. the probability output of 'Extract buildings' or a heatmap.\n"
        "Advanced: <b>iterations</b> of mean-field inference (5), <b>smoothness kernel</b> width in px (3), "
        "<b>appearance kernel</b> width in px (20) and colour distance (15 of 255) and weight (4), the "
        "<b>threshold</b> on the refined probability (0.5), and the <b>tile size</b> and <b>overlap</b> of the "
        "streaming (each tile keeps only its core, so there are no seams).\n\n"
        "Outputs: <b>refined mask</b> (uint8: 1 building, 0 background, 255 nodata) and optionally the "
        "<b>refined probability</b> (float32).")

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Input raster")))
        self.addParameter(QgsProcessingParameterRasterLayer(self.PROBABILITY, self.tr("Building probability")))
        num, integer = QgsProcessingParameterNumber.Double, QgsProcessingParameterNumber.Integer
        self.add_advanced([
            QgsProcessingParameterNumber(self.ITERATIONS, self.tr("Iterations"), integer, 5, False, 1, 50),
            QgsProcessingParameterNumber(self.GAUSSIAN_SXY, self.tr("Smoothness kernel width (px)"), num, 3.0,
                                         False, 0.1, 100),
            QgsProcessingParameterNumber(self.BILATERAL_SXY, self.tr("Appearance kernel width (px)"), num, 20.0,
                                         False, 1, 500),
            QgsProcessingParameterNumber(self.BILATERAL_SRGB, self.tr("Appearance colour distance"), num, 15.0,
                                         False, 1, 255),
            QgsProcessingParameterNumber(self.BILATERAL_COMPAT, self.tr("Appearance kernel weight"), num, 4.0,
                                         False, 0, 100),
            QgsProcessingParameterNumber(self.THRESHOLD, self.tr("Building probability threshold"), num, 0.5,
                                         False, 0, 1),
            QgsProcessingParameterNumber(self.TILE_SIZE, self.tr("Tile size (px)"), integer, 512, False, 64,
                                         4096),
            QgsProcessingParameterNumber(self.OVERLAP, self.tr("Tile overlap (px)"), integer, 64, False, 0, 1024),
        ])
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT_MASK, self.tr("Refined mask")))
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.OUTPUT_PROBABILITY, self.tr("Refined probability"), optional=True, createByDefault=False))

    def compute(self, parameters, context, feedback):
        from ..engine.postprocess.crf import CrfParams, refine_raster

        image = layers.raster_file(self.parameterAsRasterLayer(parameters, self.INPUT, context))
        prob = layers.raster_file(self.parameterAsRasterLayer(parameters, self.PROBABILITY, context),
                                  "probability raster")
        p = CrfParams(
            iterations=self.parameterAsInt(parameters, self.ITERATIONS, context),
            gaussian_sxy=self.parameterAsDouble(parameters, self.GAUSSIAN_SXY, context),
            bilateral_sxy=self.parameterAsDouble(parameters, self.BILATERAL_SXY, context),
            bilateral_srgb=self.parameterAsDouble(parameters, self.BILATERAL_SRGB, context),
            bilateral_compat=self.parameterAsDouble(parameters, self.BILATERAL_COMPAT, context),
            threshold=self.parameterAsDouble(parameters, self.THRESHOLD, context),
            tile_size=self.parameterAsInt(parameters, self.TILE_SIZE, context),
            overlap=self.parameterAsInt(parameters, self.OVERLAP, context))
        mask = self.parameterAsOutputLayer(parameters, self.OUTPUT_MASK, context)
        out_prob = self.parameterAsOutputLayer(parameters, self.OUTPUT_PROBABILITY, context) \
            if parameters.get(self.OUTPUT_PROBABILITY) else None
        stats = self.run_engine(refine_raster, image, prob, mask, out_prob, p, FeedbackProgress(feedback))
        feedback.pushInfo(f"{stats['building_pixels']} building pixels after refinement ({stats['tiles']} tiles)")
        StyleLayer.attach(context, mask, "mask.qml", "Refined building mask")
        out = {self.OUTPUT_MASK: mask}
        if out_prob:
            StyleLayer.attach(context, out_prob, "probability.qml", "Refined building probability")
            out[self.OUTPUT_PROBABILITY] = out_prob
        return out
