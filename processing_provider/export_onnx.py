"""Export a BuildSeg model to ONNX (softmax output, BuildSeg metadata inside) for use in other tools."""

from qgis.core import QgsProcessingParameterFileDestination

from .base import BuildSegAlgorithm


class ExportOnnx(BuildSegAlgorithm):
    MODEL = "MODEL"
    OUTPUT = "OUTPUT"

    NAME = "exportonnx"
    DISPLAY = "Export model to ONNX"
    GROUP = "tools"
    README_ANCHOR = "model-files"
    NEEDS = ("torch", "onnx", "safetensors")
    HELP = (
        "Writes a BuildSeg model as an ONNX file that other tools (ONNX Runtime, Deepness, OpenCV DNN…) can run.\n\n"
        "<b>Model file</b>: a BuildSeg .safetensors model; empty = the bundled default model.\n"
        "<b>ONNX file</b>: the output. Its input 'image' is float32 (batch, bands, height, width) normalised with "
        "the per-band mean and std of the model (height and width are dynamic, multiples of 32 work for every "
        "architecture); its output 'probabilities' is (batch, classes, height, width) after softmax. The full "
        "BuildSeg metadata (bands, normalisation, classes, tile size, resolution, metrics) is stored as the ONNX "
        "metadata property 'buildseg' (JSON).")

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.addParameter(self.model_parameter(self.tr("Model (empty: the default model)")))
        self.addParameter(QgsProcessingParameterFileDestination(self.OUTPUT, self.tr("ONNX file"),
                                                                "ONNX models (*.onnx)"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 - QGIS API name
        self.require_dependencies()
        from ..engine import modelfile
        from ..engine.atomic import check_writable
        from ..engine.predict import export_onnx

        model_path = self.model_file(parameters, context)
        out = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        self.run_engine(check_writable, out, [model_path])
        model, info = self.run_engine(modelfile.load, model_path)
        feedback.pushInfo(f"Model: {info.summary()}")
        self.run_engine(export_onnx, model, info, out)
        return {self.OUTPUT: out}
