"""What every BuildSeg algorithm shares: groups, help links, engine calls, feedback adapter."""

import html
import os
import re

from qgis.core import (
    QgsApplication,
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingParameterCrs,
    QgsProcessingParameterExtent,
)
from qgis.PyQt.QtCore import QCoreApplication, QUrl
from qgis.PyQt.QtGui import QIcon

from ..engine.core import deps
from ..engine.core.errors import BuildSegError
from ..engine.core.options import DEVICES
from ..engine.core.progress import Progress
from .provider import ICON, icon_path

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_MODEL = os.path.join(PLUGIN_DIR, "resources", "models", "buildings-default.safetensors")
AUTO_MODEL = "auto"  # MODEL value: the bundled model chosen by the input's ground resolution
# the guide page of each help anchor (README.md is the manual's front page; the guides are in docs/)
HELP_PAGES = {"dependencies": "docs/desktop.md", "check-model-fit": "docs/analysis.md",
              "the-buildseg-panel-run-on-the-view-label-retrain-label-next": "docs/desktop.md",
              "evaluate-building-extraction": "docs/analysis.md", "heatmaps-and-explainability": "docs/analysis.md",
              "onnx-both-ways": "docs/tools.md", "extract-buildings": "docs/extraction.md",
              "in-qgis-styles-help-settings-model-builder-batch-translations": "docs/desktop.md",
              "import-weights": "docs/tools.md", "prepare-training-tiles": "docs/training.md",
              "weak-supervision-and-dense-crf": "docs/weak-supervision.md",
              "regularize-building-footprints": "docs/tools.md", "train-a-model": "docs/training.md"}
GROUPS = {"extraction": "Extraction", "training": "Training", "analysis": "Analysis", "tools": "Tools"}
DEVICE_OPTIONS = DEVICES  # the engine's list


def first_sentence(text: str) -> str:
    """The text's first sentence, with its full stop: up to the first '. ' of its first line."""
    line = text.split("\n")[0]
    end = line.find(". ")
    return line if end < 0 else line[:end + 1]


def plain_text(text: str) -> str:
    """Help HTML as plain text: tags dropped (a line break kept as one), entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<br\s*/?>", "\n", text)))


class FeedbackProgress(Progress):
    """The engine's progress interface over a QgsProcessingFeedback."""

    def __init__(self, feedback):
        self.feedback = feedback

    def set_progress(self, percent: float) -> None:
        if self.feedback:
            self.feedback.setProgress(percent)

    def info(self, message: str) -> None:
        if self.feedback:
            self.feedback.pushInfo(message)

    def warn(self, message: str) -> None:
        if self.feedback:
            self.feedback.pushWarning(message)

    def is_canceled(self) -> bool:
        return bool(self.feedback and self.feedback.isCanceled())


class BuildSegAlgorithm(QgsProcessingAlgorithm):
    """Base class: subclasses set NAME, DISPLAY, GROUP, HELP, README_ANCHOR and define the rest."""

    NAME = ""
    DISPLAY = ""
    GROUP = "tools"
    HELP = ""
    README_ANCHOR = ""
    TAGS = ()  # words the toolbox search finds this algorithm by, beside the shared ones
    NEEDS = ("torch", "torchvision", "onnxruntime", "onnx", "safetensors", "cv2", "skimage", "rasterio")

    def tr(self, text):
        return QCoreApplication.translate("BuildSeg", text)

    def createInstance(self):
        return type(self)()

    def name(self):
        return self.NAME

    def displayName(self):
        return self.tr(self.DISPLAY)

    def group(self):
        return self.tr(GROUPS[self.GROUP])

    def groupId(self):
        return self.GROUP

    def shortHelpString(self):
        """The help as HTML for the algorithm dialog (which shows this only); as plain text without its first
        sentence in qgis_process, which prints the short description above it and shows tags as they are."""
        text = self.tr(self.HELP)
        if QgsApplication.instance() is None or QgsApplication.instance().platform() != "qgis_process":
            return text
        return plain_text(text[len(first_sentence(text)):].lstrip())

    def shortDescription(self):  # noqa: N802 - QGIS API name
        """The help's first sentence (the toolbox tooltip; qgis_process prints it above the help)."""
        return plain_text(first_sentence(self.tr(self.HELP)))

    def tags(self):
        return [self.tr(t) for t in ("buildings", "building footprints", "deep learning", "segmentation",
                                     "remote sensing") + self.TAGS]

    def helpUrl(self):
        """The guide page installed with the plugin (a file: the project has no public site yet)."""
        anchor = self.README_ANCHOR or self.NAME
        url = QUrl.fromLocalFile(os.path.join(PLUGIN_DIR, HELP_PAGES.get(anchor, "README.md")))
        url.setFragment(anchor)
        return url.toString()

    def icon(self):
        """The algorithm's own icon where it has one (the three on the toolbar and menu), else BuildSeg's."""
        own = icon_path(self.NAME)
        return QIcon(own if os.path.exists(own) else ICON)

    def declare_outputs(self, *outputs) -> None:
        """Declare (name, kind, label) outputs that are values, not layers: kind is number, boolean, string or
        file. Declared, they show in `qgis_process help` and the model designer can wire them."""
        from qgis.core import (
            QgsProcessingOutputBoolean,
            QgsProcessingOutputFile,
            QgsProcessingOutputNumber,
            QgsProcessingOutputString,
        )

        kinds = {"number": QgsProcessingOutputNumber, "boolean": QgsProcessingOutputBoolean,
                 "string": QgsProcessingOutputString, "file": QgsProcessingOutputFile}
        for name, kind, label in outputs:
            self.addOutput(kinds[kind](name, self.tr(label)))

    def add_advanced(self, params) -> None:
        for p in params:
            p.setFlags(p.flags() | p.FlagAdvanced)
            self.addParameter(p)

    def tiling_parameters(self) -> list:
        """TILE_SIZE, OVERLAP, BATCH_SIZE and DEVICE, as every sliding-window algorithm offers them."""
        from qgis.core import QgsProcessingParameterEnum, QgsProcessingParameterNumber

        integer = QgsProcessingParameterNumber.Integer
        return [
            QgsProcessingParameterNumber("TILE_SIZE", self.tr("Tile size (px, 0: the model's)"), integer, 0, False,
                                         0, 8192),
            QgsProcessingParameterNumber("OVERLAP", self.tr("Tile overlap (px)"), integer, 64, False, 0, 4096),
            QgsProcessingParameterNumber("BATCH_SIZE", self.tr("Batch size (0: auto)"), integer, 0, False, 0, 256),
            QgsProcessingParameterEnum("DEVICE", self.tr("Device"), DEVICE_OPTIONS, defaultValue=0),
        ]

    def add_web_layer_parameters(self) -> list:
        """Add EXTENT; return TARGET_CRS for the advanced group (both for web or non-file input layers)."""
        self.addParameter(QgsProcessingParameterExtent(
            "EXTENT", self.tr("Extent (empty: AOI or whole raster)"),
            optional=True))
        return [QgsProcessingParameterCrs(
            "TARGET_CRS", self.tr("Output CRS for a web or non-file layer (empty: the layer's, or UTM for "
                                  "geographic layers)"), optional=True)]

    def checkParameterValues(self, parameters, context):  # noqa: N802 - QGIS API name
        from . import layers

        if layers.is_web_uri(parameters.get("INPUT")):  # qgis_process: INPUT='type=xyz&url=...'
            try:
                layers.load_web_layer(parameters["INPUT"], context)
            except QgsProcessingException as exc:
                return False, str(exc)
        ok, message = super().checkParameterValues(parameters, context)
        if not ok:
            return ok, message
        from . import guard

        try:  # before any work: outputs never overwrite inputs or each other; polygon parameters get polygons
            guard.check_destinations(self, parameters, context)
            guard.check_polygon_inputs(self, parameters, context)
        except QgsProcessingException as exc:
            return False, str(exc)
        return True, ""

    def raster_input(self, parameters, context, feedback, layer, model, aoi_source=None):
        """(file path or engine BlockSource, LayerFetcher or None, grid CRS) for the input raster layer.

        A file-backed layer is read by GDAL directly; any other layer (XYZ, WMS, in-memory...) is fetched
        through its data provider over EXTENT / the area of interest at the model's ground resolution.
        """
        from . import layer_source

        if layer is not None and layer.isValid() and not layer_source.is_file_layer(layer):
            from ..engine.models.modelfile import read_info

            resolution = self.run_engine(read_info, model).resolution
            return layer_source.web_input(self, parameters, context, feedback, layer, resolution, aoi_source)
        return self.file_window(parameters, context, feedback, layer), None, layer.crs()

    def suited_model(self, parameters, context, feedback, layer) -> str:
        """MODEL (model_file), judged by the file behind `layer` when it is `auto` (a web or in-memory layer is
        fetched at the default model's resolution: the default)."""
        from . import layer_source, layers

        file_layer = layer is not None and layer.isValid() and layer_source.is_file_layer(layer)
        return self.model_file(parameters, context, raster=layers.raster_file(layer) if file_layer else None,
                               feedback=feedback)

    def file_window(self, parameters, context, feedback, layer) -> str:
        """The file of a file-backed raster layer; with EXTENT, a VRT window of it (e.g. the map view; nothing
        copied) in the Processing temporary folder."""
        from . import layers

        path = layers.raster_file(layer)
        if not parameters.get("EXTENT"):
            return path
        import tempfile

        from qgis.core import QgsProcessingUtils

        from ..engine.io.raster import window_vrt

        e = self.parameterAsExtent(parameters, "EXTENT", context, layer.crs())
        folder = tempfile.mkdtemp(prefix="window-", dir=QgsProcessingUtils.tempFolder())
        out = os.path.join(folder, os.path.splitext(os.path.basename(path))[0] + ".vrt")
        path = self.run_engine(window_vrt, path, (e.xMinimum(), e.yMinimum(), e.xMaximum(), e.yMaximum()), out)
        feedback.pushInfo(f"Over the extent: a window of {layer.name()} ({out}).")
        return path

    def device_choice(self, parameters, context) -> str:
        """DEVICE, with 'auto' replaced by the provider's default device setting."""
        from . import settings

        return settings.device(DEVICE_OPTIONS[self.parameterAsEnum(parameters, "DEVICE", context)])

    @staticmethod
    def threads() -> int:
        """The provider's CPU threads setting (0: all cores), for the run's parameters."""
        from . import settings

        return settings.threads()

    def model_file(self, parameters, context, name: str = "MODEL", raster=None, feedback=None) -> str:
        """MODEL resolved through the model folder setting; empty = the folder's default or the bundled model;
        `auto` = the bundled model that suits `raster`'s ground resolution (engine/models/choice.py; the default
        model when there is no raster file to judge by)."""
        from . import settings

        chosen = self.parameterAsFile(parameters, name, context)
        if chosen.strip().lower() != AUTO_MODEL:
            return settings.model_path(chosen, DEFAULT_MODEL)
        from ..engine.models.choice import for_raster

        path, why = for_raster(raster, DEFAULT_MODEL) if raster is not None else (
            DEFAULT_MODEL, f"{os.path.basename(DEFAULT_MODEL)} (no raster file to choose by)")
        if feedback is not None:
            feedback.pushInfo(f"Model (auto): {why}.")
        return path

    def model_parameter(self, label: str, name: str = "MODEL", by_resolution: bool = False):
        """MODEL: a file path, shown in dialogs as a chooser of the default and the model folder's models (and,
        `by_resolution`, of `auto`: the algorithm chooses the bundled model by its input's resolution)."""
        from qgis.core import QgsProcessingParameterFile

        # the second filter lets MODEL take the word `auto` (Processing checks a file name against the filters)
        param = QgsProcessingParameterFile(name, label, optional=True, fileFilter="BuildSeg or ONNX models "
                                           f"(*.safetensors *.onnx);;Chosen by resolution ({AUTO_MODEL})")
        param.setMetadata({"widget_wrapper": {"class": f"{__package__}.model_chooser.ModelChooserWrapper",
                                              "by_resolution": by_resolution}})
        return param

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 - QGIS API name
        """The template every algorithm runs through: its dependencies checked (NEEDS), then `compute`, with the
        engine's user errors and cancellations turned into QgsProcessingException once, here."""
        self.require_dependencies()
        return self.run_engine(self.compute, parameters, context, feedback)

    def compute(self, parameters, context, feedback) -> dict:
        """The algorithm's own work: parameters in, engine call, outputs out."""
        raise NotImplementedError

    def require_dependencies(self):
        gone = deps.missing(list(self.NEEDS))
        if gone:
            raise QgsProcessingException(deps.install_hint(gone))

    def run_engine(self, func, *args, **kwargs):
        """Call the engine; its user errors become QgsProcessingException."""
        try:
            return func(*args, **kwargs)
        except BuildSegError as exc:
            raise QgsProcessingException(str(exc)) from None
        except MemoryError:
            raise QgsProcessingException("Out of memory: lower the tile size or batch size and run again.") \
                from None
        except OSError as exc:  # a destination that cannot be written (read-only, full, gone) or an unreadable file
            raise QgsProcessingException(_os_error_message(exc)) from None


def _os_error_message(exc: OSError) -> str:
    """What an operating-system error means for the user, with the fix."""
    import errno

    where = exc.filename or "a file"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"{where} is not writable ({exc.strerror}): choose a folder you may write to."
    if exc.errno == errno.ENOSPC:
        return f"No space left on the disk holding {where}: free some space or choose another disk."
    return f"Cannot use {where}: {exc.strerror or exc}. Check the path and its permissions."

