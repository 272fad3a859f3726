"""Export a BuildSeg model to ONNX: BuildSeg's own profile, or the Deepness/GeoDeep profile."""

from qgis.core import QgsProcessingParameterEnum, QgsProcessingParameterFileDestination

from .base import BuildSegAlgorithm

PROFILES = ["BuildSeg (normalised input)", "Deepness / GeoDeep (0..1 input, their metadata)"]


class ExportOnnx(BuildSegAlgorithm):
    MODEL = "MODEL"
    PROFILE = "PROFILE"
    OUTPUT = "OUTPUT"

    NAME = "exportonnx"
    DISPLAY = "Export model to ONNX"
    GROUP = "tools"
    README_ANCHOR = "onnx-both-ways"
    NEEDS = ("torch", "onnx", "safetensors")
    HELP = (
        "Writes a BuildSeg model as an ONNX file that other tools (ONNX Runtime, Deepness, GeoDeep, OpenCV DNN…) "
        "can run.\n\n"
        "<b>Model file</b>: a BuildSeg .safetensors model; empty = the bundled default model.\n"
        "<b>Profile</b>: <i>BuildSeg</i>: input 'image', float32 (batch, bands, tile, tile) normalised with the "
        "model's per-band mean and std; output 'probabilities' (batch, classes, tile, tile) after softmax. "
        "<i>Deepness / GeoDeep</i>: input pixel values scaled to 0..1 (value / 255) with the model's "
        "normalisation inside the graph, and the metadata those tools read (model_type Segmentor, class_names, "
        "resolution in cm, tiles_size, tiles_overlap, seg_thresh), so the file loads in Deepness with its "
        "defaults. Height and width are the model's tile size (several architectures trace size-dependent "
        "constants); the batch is dynamic. Both carry the full BuildSeg header as metadata 'buildseg', and "
        "BuildSeg's Extract buildings runs either file (and other Deepness segmentation models) as its model.")

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.addParameter(self.model_parameter(self.tr("Model (empty: the default model)")))
        self.addParameter(QgsProcessingParameterEnum(self.PROFILE, self.tr("Profile"), PROFILES, defaultValue=0))
        self.addParameter(QgsProcessingParameterFileDestination(self.OUTPUT, self.tr("ONNX file"),
                                                                "ONNX models (*.onnx)"))

    def compute(self, parameters, context, feedback):
        from ..engine.core.atomic import check_writable
        from ..engine.extract.predict import export_onnx
        from ..engine.models import modelfile
        from ..engine.models.onnx_interop import export_deepness

        model_path = self.model_file(parameters, context)
        out = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        self.run_engine(check_writable, out, [model_path])
        model, info = self.run_engine(modelfile.load, model_path)
        feedback.pushInfo(f"Model: {info.summary()}")
        deepness = self.parameterAsEnum(parameters, self.PROFILE, context) == 1
        self.run_engine(export_deepness if deepness else export_onnx, model, info, out)
        return {self.OUTPUT: out}
