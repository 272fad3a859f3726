"""Check model fit: does the model fit this imagery, before a long run?"""

import json

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterRasterLayer,
)

from . import layers
from .base import BuildSegAlgorithm, FeedbackProgress


class CheckFit(BuildSegAlgorithm):
    INPUT = "INPUT"
    MODEL = "MODEL"
    OUTPUT_REPORT = "OUTPUT_REPORT"

    NAME = "checkfit"
    DISPLAY = "Check model fit"
    GROUP = "analysis"
    README_ANCHOR = "check-model-fit"
    TAGS = ("fit", "domain", "out of distribution", "uncertainty", "before")
    HELP = (
        "Says in seconds, before a long extraction or training, whether the model fits the imagery: "
        "<b>fits</b>, <b>uncertain</b> or <b>fine-tune first</b>, with the reasons.\n\n"
        "It runs the model on a few tiles sampled over the raster, each as it is and turned round by 180 "
        "degrees: the score (0..1) is the building IoU between the two masks, the model's agreement with itself. "
        "A model that knows imagery like this finds the same buildings either way up. 0.75 and above fits, below "
        "0.6 means fine-tune first. Ground resolution, radiometry (each band's mean against the model's "
        "normalisation) and confidence are reported as reasons. Over 21 evaluated places its ranking follows the "
        "default model's measured building IoU (Spearman 0.89; docs/analysis.md).\n\n"
        "<b>Report</b>: optional JSON file with the score, verdict, reasons and measures.")

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Input raster")))
        self.addParameter(self.model_parameter(self.tr("Model (empty: the default model)"), by_resolution=True))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT_REPORT, self.tr("Report"), "JSON files (*.json)", optional=True, createByDefault=False))
        self.addOutput(QgsProcessingOutputNumber("FIT_SCORE", self.tr("Fit score (0..1)")))
        self.addOutput(QgsProcessingOutputString("VERDICT", self.tr("Verdict")))

    def compute(self, parameters, context, feedback):
        from ..engine.core.atomic import atomic_path
        from ..engine.extract.fit import check_fit
        from ..engine.extract.inference import extract

        raster = layers.raster_file(self.parameterAsRasterLayer(parameters, self.INPUT, context))
        model = self.model_file(parameters, context, raster=raster, feedback=feedback)
        report = self.run_engine(check_fit, raster, model, progress=FeedbackProgress(feedback), run=extract)
        (feedback.pushInfo if report.verdict == "fits" else feedback.pushWarning)(report.summary())
        out = {"FIT_SCORE": report.score, "VERDICT": report.verdict}
        path = self.parameterAsFileOutput(parameters, self.OUTPUT_REPORT, context)
        if path:
            with atomic_path(path) as tmp, open(tmp, "w") as f:
                json.dump({"score": report.score, "verdict": report.verdict, "reasons": report.reasons,
                           "measures": report.measures}, f, indent=2)
            out[self.OUTPUT_REPORT] = path
        return out
