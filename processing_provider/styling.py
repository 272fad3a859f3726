"""Give outputs loaded into the project a proper style and name (a layer post-processor, main thread)."""

import os

from qgis.core import QgsProcessingLayerPostProcessorInterface

from .base import PLUGIN_DIR

STYLES = os.path.join(PLUGIN_DIR, "resources", "styles")


class StyleLayer(QgsProcessingLayerPostProcessorInterface):
    _alive = []  # QGIS does not own Python post-processors: keep them referenced

    def __init__(self, style: str, name: str):
        super().__init__()
        self.style, self.name = style, name

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 - QGIS API name
        if layer is None or not layer.isValid():
            return
        layer.loadNamedStyle(os.path.join(STYLES, self.style))
        layer.setName(self.name)
        layer.triggerRepaint()

    @classmethod
    def attach(cls, context, path: str, style: str, name: str) -> None:
        """Style the output at `path` when Processing loads it on completion."""
        if not path or not context.willLoadLayerOnCompletion(path):
            return
        processor = cls(style, name)
        cls._alive.append(processor)
        details = context.layerToLoadOnCompletionDetails(path)
        details.name = name
        details.setPostProcessor(processor)
