"""Export heatmap: probability, Grad-CAM(++), uncertainty or layer activations as a georeferenced raster."""

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from ..engine.explain.heatmap import MODES
from . import layers
from .base import BuildSegAlgorithm, FeedbackProgress
from .styling import RunGroup, StyleLayer

NAMES = {"probability": "Building probability", "gradcam": "Grad-CAM", "gradcam++": "Grad-CAM++",
         "entropy": "Uncertainty (entropy)", "tta-variance": "Uncertainty (TTA variance)",
         "features": "Feature activation"}


def _default_layers() -> str:
    """'layer' (architectures) for every default Grad-CAM layer of the registry."""
    from ..engine.models.registry import ARCHITECTURES

    by_layer = {}
    for name, arch in ARCHITECTURES.items():
        if arch.gradcam_layer:
            by_layer.setdefault(arch.gradcam_layer, []).append(name)
    return "; ".join(f"'{layer}' ({', '.join(names)})" for layer, names in by_layer.items())


class ExportHeatmap(BuildSegAlgorithm):
    INPUT = "INPUT"
    MODEL = "MODEL"
    AOI = "AOI"
    MODE = "MODE"
    TARGET_CLASS = "TARGET_CLASS"
    LAYER = "LAYER"
    CHANNELS = "CHANNELS"
    TILE_SIZE = "TILE_SIZE"
    OVERLAP = "OVERLAP"
    BATCH_SIZE = "BATCH_SIZE"
    DEVICE = "DEVICE"
    OUTPUT = "OUTPUT"
    OUTPUT_QUICKLOOK = "OUTPUT_QUICKLOOK"

    NAME = "exportheatmap"
    DISPLAY = "Export heatmap"
    GROUP = "analysis"
    README_ANCHOR = "heatmaps-and-explainability"
    HELP = (
        "Shows why the model calls something a building, and where it is unsure, as a float32 raster on the "
        "input grid (-9999 = nodata), computed tile by tile and blended like extraction (no seams).\n\n"
        "<b>Mode</b>: <i>probability</i> of the target class (0..1); <i>gradcam</i> / <i>gradcam++</i>: Grad-CAM "
        "(Grad-CAM++) of the target class over the segmentation output at the chosen layer, normalised once for "
        "the whole scene (0..1); <i>entropy</i>: predictive entropy normalised to 0..1, the map of where to "
        "label next; <i>tta-variance</i>: variance of the target-class probability over the 8 flips/rotations; "
        "<i>features</i>: mean activation of a layer (or of the listed channels), upsampled to the input grid.\n"
        "<b>Target class</b>: a class name or id of the model (default: building).\n"
        "<b>Layer</b> (Grad-CAM and features): a module name of the model; empty = the architecture's default "
        f"(its registry entry): {_default_layers()}. Others: 'encoder.layers.0..3' (ResNet encoders), "
        "'encoder.stages.0..4' (MobileNetV2), 'decoder.blocks.0..3', 'final'. A wrong name lists the model's "
        "layers.\n"
        "<b>Channels</b> (features): e.g. '0,5,12'; empty = all.\n"
        "Tile size, overlap, batch size and device as in 'Extract buildings'. Grad-CAM runs through PyTorch "
        "(it needs gradients).\n\n"
        "<b>Quick-look</b>: optional PNG of the heatmap over the image, for reports.")

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Input raster")))
        self.addParameter(self.model_parameter(self.tr("Model (empty: the default model)"), by_resolution=True))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.AOI, self.tr("Area of interest"), [QgsProcessing.TypeVectorPolygon], optional=True))
        self.addParameter(QgsProcessingParameterEnum(self.MODE, self.tr("Mode"), MODES, defaultValue=1))
        self.addParameter(QgsProcessingParameterString(self.TARGET_CLASS, self.tr("Target class"), "building"))
        self.addParameter(QgsProcessingParameterString(self.LAYER, self.tr("Layer (empty: default)"),
                                                       optional=True))
        self.addParameter(QgsProcessingParameterString(self.CHANNELS, self.tr("Channels (features mode)"),
                                                       optional=True))
        self.add_advanced(self.add_web_layer_parameters() + self.tiling_parameters())
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Heatmap")))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT_QUICKLOOK, self.tr("Quick-look PNG"), "PNG images (*.png)", optional=True,
            createByDefault=False))

    def compute(self, parameters, context, feedback):
        from ..engine.explain.heatmap import HeatmapParams, export_heatmap

        layer = layers.input_raster_layer(self, parameters, self.INPUT, context)
        model = self.suited_model(parameters, context, feedback, layer)
        source = self.parameterAsSource(parameters, self.AOI, context)
        raster, fetcher, crs = self.raster_input(parameters, context, feedback, layer, model, source)
        text = self.parameterAsString(parameters, self.CHANNELS, context).strip()
        try:
            channels = [int(c) for c in text.split(",")] if text else None
        except ValueError:
            raise QgsProcessingException(f"Channels '{text}' must be integers separated by commas.") from None
        aoi = layers.aoi_shapes(source, crs, context, feedback, raster) if source is not None else None
        mode = MODES[self.parameterAsEnum(parameters, self.MODE, context)]
        params = HeatmapParams(
            mode=mode, target_class=self.parameterAsString(parameters, self.TARGET_CLASS, context) or "building",
            layer=self.parameterAsString(parameters, self.LAYER, context), channels=channels,
            tile_size=self.parameterAsInt(parameters, self.TILE_SIZE, context),
            overlap=self.parameterAsInt(parameters, self.OVERLAP, context),
            batch_size=self.parameterAsInt(parameters, self.BATCH_SIZE, context),
            device=self.device_choice(parameters, context), threads=self.threads(), aoi=aoi)
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        quicklook = self.parameterAsFileOutput(parameters, self.OUTPUT_QUICKLOOK, context) or None
        stats = self.run_engine(export_heatmap, raster, model, out, params, FeedbackProgress(feedback), quicklook)
        if fetcher is not None and fetcher.summary():
            feedback.pushWarning(fetcher.summary())
        feedback.pushInfo(f"{NAMES[mode]}: values {stats['min']:.4g} .. {stats['max']:.4g}")
        if mode != "features":
            kind = NAMES[mode] if mode.startswith("gradcam") else NAMES[mode].lower()  # the group says what ran
            StyleLayer.attach(context, out, "probability.qml", NAMES[mode], RunGroup(layer.name(), kind))
        result = {self.OUTPUT: out}
        if quicklook:
            result[self.OUTPUT_QUICKLOOK] = quicklook
        return result
