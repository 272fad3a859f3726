"""Generate pseudo-masks from weak labels: points, boxes or tagged areas -> a label raster to train on."""

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsWkbTypes,
)

from . import layers
from .base import BuildSegAlgorithm, FeedbackProgress
from .styling import StyleLayer

BACKBONES = ["resnet18", "resnet50"]
YES = {"yes", "true", "1", "y", "building", "buildings"}


class PseudoMasks(BuildSegAlgorithm):
    INPUT = "INPUT"
    LABELS = "LABELS"
    TAG_FIELD = "TAG_FIELD"
    TILE_SIZE = "TILE_SIZE"
    BACKBONE = "BACKBONE"
    EPOCHS = "EPOCHS"
    ADV_STEPS = "ADV_STEPS"
    ADV_STEP = "ADV_STEP"
    CAM_THRESHOLD = "CAM_THRESHOLD"
    FG_THRESHOLD = "FG_THRESHOLD"
    BG_THRESHOLD = "BG_THRESHOLD"
    CRF_ITERATIONS = "CRF_ITERATIONS"
    DEVICE = "DEVICE"
    OUTPUT = "OUTPUT"
    OUTPUT_CAM = "OUTPUT_CAM"
    OUTPUT_REPORT = "OUTPUT_REPORT"

    NAME = "pseudomasks"
    DISPLAY = "Generate pseudo-masks from weak labels"
    GROUP = "training"
    README_ANCHOR = "weak-supervision-and-dense-crf"
    NEEDS = ("torch", "torchvision", "pydensecrf", "skimage", "rasterio")
    HELP = (
        "Turns coarse labels into pixel labels good enough to train on (CAM, AdvCAM, IRN and dense CRF, after "
        "Fang & Zheng 2022).\n\n<b>Input raster</b>: the imagery.\n<b>Weak labels</b>: a point layer (a point "
        "on each building), a polygon layer of rough boxes around buildings, or a polygon layer of areas tagged "
        "in a field (<b>tag field</b>: yes/no, true/false, 1/0). Points and boxes are taken as complete: tiles "
        "without any are background.\n<b>Tile size</b> of the tile classifier (256; smaller gives more tiles "
        "without buildings to learn from), its <b>backbone</b> (ResNet-50 with global pooling; ResNet-18 is 3x "
        "faster) and <b>epochs</b>. Advanced: <b>AdvCAM iterations</b> (8) and <b>step</b> (0.08), the <b>CAM "
        "threshold</b> (0.3), the <b>foreground / background confidence</b> of the refined map (0.7 / 0.3: in "
        "between is 'ignore'), <b>CRF iterations</b>, <b>device</b>.\n\nOutputs: the <b>pseudo-mask</b> "
        "(uint8: 1 building, 0 background, 255 ignore), which 'Train building model' takes directly as its "
        "label raster; the <b>CAM</b> raster (AdvCAM, 0..1) for inspection; a JSON <b>report</b> of the steps.")

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Input raster")))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.LABELS, self.tr("Weak labels (points, boxes or tagged areas)"),
            [QgsProcessing.TypeVectorPoint, QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterField(
            self.TAG_FIELD, self.tr("Tag field of areas (yes/no; empty: polygons are boxes)"), None, self.LABELS,
            optional=True))
        integer, num = QgsProcessingParameterNumber.Integer, QgsProcessingParameterNumber.Double
        self.addParameter(QgsProcessingParameterNumber(self.TILE_SIZE, self.tr("Tile size (px)"), integer, 256,
                                                       False, 64, 1024))
        self.addParameter(QgsProcessingParameterEnum(self.BACKBONE, self.tr("Classifier backbone"), BACKBONES,
                                                     defaultValue=1))
        self.addParameter(QgsProcessingParameterNumber(self.EPOCHS, self.tr("Classifier epochs"), integer, 6,
                                                       False, 1, 1000))
        self.add_advanced([
            QgsProcessingParameterNumber(self.ADV_STEPS, self.tr("AdvCAM iterations"), integer, 8, False, 0, 100),
            QgsProcessingParameterNumber(self.ADV_STEP, self.tr("AdvCAM step"), num, 0.08, False, 0.0, 10.0),
            QgsProcessingParameterNumber(self.CAM_THRESHOLD, self.tr("CAM threshold"), num, 0.3, False, 0, 1),
            QgsProcessingParameterNumber(self.FG_THRESHOLD, self.tr("Foreground confidence"), num, 0.7, False, 0, 1),
            QgsProcessingParameterNumber(self.BG_THRESHOLD, self.tr("Background confidence"), num, 0.3, False, 0, 1),
            QgsProcessingParameterNumber(self.CRF_ITERATIONS, self.tr("CRF iterations"), integer, 5, False, 1, 50),
            QgsProcessingParameterEnum(self.DEVICE, self.tr("Device"), ["auto", "cpu", "cuda"], defaultValue=0),
        ])
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Pseudo-mask")))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT_CAM, self.tr("CAM"), optional=True,
                                                                  createByDefault=False))
        self.addParameter(QgsProcessingParameterFileDestination(self.OUTPUT_REPORT, self.tr("Report"),
                                                                "JSON files (*.json)", optional=True,
                                                                createByDefault=False))

    def compute(self, parameters, context, feedback):
        from ..engine.postprocess.crf import CrfParams
        from ..engine.weak.cam import CamParams
        from ..engine.weak.irn import IrnParams
        from ..engine.weak.pseudomasks import PseudoParams, generate

        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        raster = layers.raster_file(layer)
        source = self.parameterAsSource(parameters, self.LABELS, context)
        weak = self._weak_labels(source, self.parameterAsString(parameters, self.TAG_FIELD, context), layer.crs(),
                                 context, feedback)
        params = PseudoParams(
            cam=CamParams(backbone=BACKBONES[self.parameterAsEnum(parameters, self.BACKBONE, context)],
                          tile_size=self.parameterAsInt(parameters, self.TILE_SIZE, context),
                          epochs=self.parameterAsInt(parameters, self.EPOCHS, context),
                          adv_steps=self.parameterAsInt(parameters, self.ADV_STEPS, context),
                          adv_step=self.parameterAsDouble(parameters, self.ADV_STEP, context)),
            irn=IrnParams(), crf=CrfParams(iterations=self.parameterAsInt(parameters, self.CRF_ITERATIONS, context)),
            cam_threshold=self.parameterAsDouble(parameters, self.CAM_THRESHOLD, context),
            fg_confidence=self.parameterAsDouble(parameters, self.FG_THRESHOLD, context),
            bg_confidence=self.parameterAsDouble(parameters, self.BG_THRESHOLD, context),
            device=self.device_choice(parameters, context), threads=self.threads())
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        cam = self.parameterAsOutputLayer(parameters, self.OUTPUT_CAM, context) \
            if parameters.get(self.OUTPUT_CAM) else None
        report_path = self.parameterAsFileOutput(parameters, self.OUTPUT_REPORT, context) or None
        report = self.run_engine(generate, raster, weak, out, cam, params, FeedbackProgress(feedback), report_path)
        feedback.pushInfo(f"Pixels: {report['pixel_shares']}")
        StyleLayer.attach(context, out, "mask.qml", "Pseudo-mask")
        results = {self.OUTPUT: out}
        if cam:
            StyleLayer.attach(context, cam, "probability.qml", "CAM")
            results[self.OUTPUT_CAM] = cam
        if report_path:
            results[self.OUTPUT_REPORT] = report_path
        return results

    @staticmethod
    def _weak_labels(source, tag_field, crs, context, feedback):
        from ..engine.weak.tile_labels import WeakLabels

        if source is None or source.featureCount() == 0:
            raise QgsProcessingException("The weak label layer is empty: add points on buildings, boxes or tagged "
                                         "areas.")
        shapes = layers.shapes(source, crs, context, feedback, what="weak labels")
        weak = WeakLabels()
        if QgsWkbTypes.geometryType(source.wkbType()) == QgsWkbTypes.PointGeometry:
            for g, _ in shapes:
                coords = g["coordinates"]
                for x, y in ([coords] if g["type"] == "Point" else coords):
                    weak.points.append((x, y))
        elif tag_field:
            values = [str(f[tag_field]).strip().lower() for f in source.getFeatures()]
            weak.tags = [(g, v in YES) for (g, _), v in zip(shapes, values)]
        else:
            weak.boxes = [g for g, _ in shapes]
        return weak
