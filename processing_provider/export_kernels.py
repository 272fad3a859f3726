"""Export kernels: first-layer kernel sheet (PNG) and per-layer weight statistics (CSV), for model inspection."""

from qgis.core import QgsProcessingParameterFileDestination

from .base import BuildSegAlgorithm


class ExportKernels(BuildSegAlgorithm):
    MODEL = "MODEL"
    OUTPUT = "OUTPUT"
    OUTPUT_REPORT = "OUTPUT_REPORT"

    NAME = "exportkernels"
    DISPLAY = "Export kernels and weight statistics"
    GROUP = "analysis"
    README_ANCHOR = "heatmaps-and-explainability"
    NEEDS = ("torch", "safetensors", "cv2")
    HELP = (
        "Inspects a model's weights.\n\n<b>Model file</b>: a BuildSeg model; empty = the bundled model.\n"
        "<b>Kernel sheet</b>: PNG grid of the first convolution's kernels (first three input bands shown as "
        "RGB, each kernel stretched on its own): edge, colour and texture detectors in a trained model, noise "
        "in an untrained one.\n<b>Weight statistics</b>: CSV with one row per parameter tensor: layer, shape, "
        "count, mean, std, min, max and the share of near-zero weights (|w| < 0.001).")

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.addParameter(self.model_parameter(self.tr("Model (empty: the default model)")))
        self.addParameter(QgsProcessingParameterFileDestination(self.OUTPUT, self.tr("Kernel sheet"),
                                                                "PNG images (*.png)"))
        self.addParameter(QgsProcessingParameterFileDestination(self.OUTPUT_REPORT, self.tr("Weight statistics"),
                                                                "CSV files (*.csv)", optional=True))

    def compute(self, parameters, context, feedback):
        from ..engine.core.atomic import check_writable
        from ..engine.explain import kernels
        from ..engine.models import modelfile

        model_path = self.model_file(parameters, context)
        png = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        report = self.parameterAsFileOutput(parameters, self.OUTPUT_REPORT, context) or None
        for path in (png, report):
            if path:
                self.run_engine(check_writable, path, [model_path])
        model, info = self.run_engine(modelfile.load, model_path)
        name, count = kernels.kernel_sheet(model, png)
        feedback.pushInfo(f"{count} kernels of layer '{name}' drawn")
        out = {self.OUTPUT: png}
        if report:
            rows = kernels.weight_statistics(model)
            kernels.write_statistics(rows, report)
            feedback.pushInfo(f"{len(rows)} parameter tensors summarised")
            out[self.OUTPUT_REPORT] = report
        return out
