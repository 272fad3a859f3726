"""Import weights: a TorchGeo or segmentation_models.pytorch state dict -> a BuildSeg model file."""

from qgis.core import (
    QgsProcessingException,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from .base import BuildSegAlgorithm


def _numbers(text: str, what: str, kind=float) -> list:
    try:
        return [kind(v) for v in text.replace(";", ",").split(",") if v.strip()]
    except ValueError:
        raise QgsProcessingException(f"{what} '{text}' must be numbers separated by commas.") from None


class ImportWeights(BuildSegAlgorithm):
    INPUT = "INPUT"
    ARCHITECTURE = "ARCHITECTURE"
    ENCODER = "ENCODER"
    BANDS = "BANDS"
    MEAN = "MEAN"
    STD = "STD"
    CLASSES = "CLASSES"
    RESOLUTION = "RESOLUTION"
    TILE_SIZE = "TILE_SIZE"
    SOURCE = "SOURCE"
    OUTPUT_MODEL = "OUTPUT_MODEL"

    NAME = "importweights"
    DISPLAY = "Import weights (TorchGeo, segmentation_models.pytorch)"
    GROUP = "tools"
    README_ANCHOR = "import-weights"
    TAGS = ("torchgeo", "smp", "segmentation_models_pytorch", "state dict", "checkpoint", "import")
    NEEDS = ("torch", "safetensors", "segmentation_models_pytorch")
    HELP = (
        "Turns weights trained elsewhere into a self-describing BuildSeg model that Extract buildings, the "
        "heatmaps and Train building model (to fine-tune) use like any other.\n\n"
        "<b>Weights</b>: a state dict as .safetensors, or a PyTorch .pth/.pt/.ckpt read with "
        "torch.load(weights_only=True) (never arbitrary pickled code). TorchGeo / Lightning checkpoints "
        "('state_dict', 'model.' prefix) are unwrapped; encoder-only weights fill the encoder and leave the "
        "decoder to fine-tuning.\n"
        "<b>Architecture</b> and <b>encoder</b>: the segmentation_models.pytorch names the weights were trained "
        "with (unet, unetplusplus, fpn, deeplabv3plus, …; resnet34, efficientnet-b0, …).\n"
        "<b>Bands</b>, <b>mean</b> and <b>std</b>: the raster bands the network reads, in order, and their "
        "normalisation in raw raster units (value - mean) / std; for networks trained on value / 255 give mean 0 "
        "and std 255; for ImageNet statistics on 8-bit imagery 123.7,116.3,103.5 and 58.4,57.1,57.4.\n"
        "<b>Classes</b>: the output classes in order, one name each (the building class named 'building').\n"
        "<b>Resolution</b>: metres per pixel the weights were trained at (extraction resamples to it; 0: "
        "unknown, no resampling).")

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.addParameter(QgsProcessingParameterFile(
            self.INPUT, self.tr("Weights (.safetensors, .pth, .pt, .ckpt)"),
            fileFilter="Weights (*.safetensors *.pth *.pt *.ckpt *.bin)"))
        for name, label, default in [
            (self.ARCHITECTURE, "Architecture (segmentation_models.pytorch)", "unet"),
            (self.ENCODER, "Encoder", "resnet34"),
            (self.BANDS, "Raster bands, in the network's order", "1,2,3"),
            (self.MEAN, "Mean per band (raw units)", "0,0,0"),
            (self.STD, "Std per band (raw units)", "255,255,255"),
            (self.CLASSES, "Classes, in output order", "background,building"),
        ]:
            self.addParameter(QgsProcessingParameterString(name, self.tr(label), default))
        self.addParameter(QgsProcessingParameterNumber(
            self.RESOLUTION, self.tr("Resolution the weights were trained at (m/pixel, 0: unknown)"),
            QgsProcessingParameterNumber.Double, 0.0, False, 0.0, 1000.0))
        self.addParameter(QgsProcessingParameterNumber(
            self.TILE_SIZE, self.tr("Tile size (px)"), QgsProcessingParameterNumber.Integer, 512, False, 32, 8192))
        self.addParameter(QgsProcessingParameterString(
            self.SOURCE, self.tr("Source and licence of the weights"), optional=True))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT_MODEL, self.tr("BuildSeg model"), "BuildSeg model (*.safetensors)"))
        self.declare_outputs(("STAC_ITEM", "file", "STAC item of the model (Machine Learning Model extension)"))

    def compute(self, parameters, context, feedback):
        from ..engine.core.atomic import check_writable
        from ..engine.models.importer import ImportSpec, import_weights

        src = self.parameterAsFile(parameters, self.INPUT, context)
        out = self.parameterAsFileOutput(parameters, self.OUTPUT_MODEL, context)
        self.run_engine(check_writable, out, [src])
        text = lambda name: self.parameterAsString(parameters, name, context).strip()  # noqa: E731
        classes = [c.strip() for c in text(self.CLASSES).split(",") if c.strip()]
        if len(classes) < 2:
            raise QgsProcessingException("Name at least two classes (for example 'background,building').")
        spec = ImportSpec(arch=text(self.ARCHITECTURE), encoder=text(self.ENCODER),
                          bands=_numbers(text(self.BANDS), "Bands", int), mean=_numbers(text(self.MEAN), "Mean"),
                          std=_numbers(text(self.STD), "Std"), classes=classes,
                          resolution=self.parameterAsDouble(parameters, self.RESOLUTION, context) or None,
                          tile_size=self.parameterAsInt(parameters, self.TILE_SIZE, context), source=text(self.SOURCE))
        stats = self.run_engine(import_weights, src, spec, out)
        feedback.pushInfo(f"Imported {stats['loaded']} weight tensors into smp {spec.arch} on {spec.encoder}.")
        if stats["encoder_only"]:
            feedback.pushWarning("These are encoder weights only: the decoder starts untrained. Fine-tune the "
                                 "model with 'Train building model' (MODEL = this file) before extracting.")
        from ..engine.models.stac import item_path

        return {self.OUTPUT_MODEL: out, "STAC_ITEM": item_path(out)}
