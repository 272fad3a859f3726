"""The BuildSeg Processing provider."""

import os

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

ICONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "resources", "icons")
ICON = os.path.join(ICONS, "buildseg.svg")


def icon_path(name: str) -> str:
    """resources/icons/<name>.svg: the toolbar, menu and toolbox icon of an entry."""
    return os.path.join(ICONS, f"{name}.svg")


def algorithm_classes():
    from .check_dependencies import CheckDependencies
    from .check_fit import CheckFit
    from .create_labels import CreateLabelLayers
    from .evaluate import Evaluate
    from .export_heatmap import ExportHeatmap
    from .export_kernels import ExportKernels
    from .export_onnx import ExportOnnx
    from .extract_buildings import ExtractBuildings
    from .extract_folder import ExtractFolder
    from .import_weights import ImportWeights
    from .prepare_tiles import PrepareTiles
    from .pseudo_masks import PseudoMasks
    from .refine_crf import RefineCrf
    from .regularize_footprints import RegularizeFootprints
    from .train_from_masks import TrainFromMasks
    from .train_model import TrainModel

    return [ExtractBuildings, ExtractFolder, TrainModel, TrainFromMasks, PrepareTiles, PseudoMasks, ExportHeatmap,
            ExportKernels, Evaluate, CheckFit, RegularizeFootprints, RefineCrf, ExportOnnx, ImportWeights,
            CreateLabelLayers, CheckDependencies]


class BuildSegProvider(QgsProcessingProvider):
    def id(self):
        return "buildseg"

    def name(self):
        return "BuildSeg"

    def longName(self):
        return "BuildSeg — building extraction with deep learning"

    def icon(self):
        return QIcon(ICON)

    def svgIconPath(self):
        return ICON

    def load(self):
        from qgis.core import QgsApplication

        from ..engine.core.atomic import install_signal_cleanup
        from . import settings

        if QgsApplication.platform() == "qgis_process":  # headless: SIGTERM / Ctrl-C leave no partial output
            install_signal_cleanup()
        settings.add(self.name())
        self.refreshAlgorithms()
        return True

    def unload(self):
        from . import settings

        settings.remove()

    def loadAlgorithms(self):
        for cls in algorithm_classes():
            self.addAlgorithm(cls())
