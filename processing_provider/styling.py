"""Give outputs loaded into the project a style, a unique name and a place in the layer tree
(a layer post-processor: it runs on the main thread after Processing has added the layer).

The outputs of one run go into one group named after what the run was and its input ("BuildSeg extraction:
sample", "BuildSeg uncertainty (entropy): sample"; a second run gets "(2)"), vector outputs on top; outputs
marked hidden (masks, probabilities) are added with their visibility off, so the imagery and the polygons stay
visible.
"""

import os

from qgis.core import QgsProcessingLayerPostProcessorInterface

from .base import PLUGIN_DIR

STYLES = os.path.join(PLUGIN_DIR, "resources", "styles")


class RunGroup:
    """The layer-tree group shared by the outputs of one algorithm run; named on first use (main thread)."""

    def __init__(self, title: str, kind: str):
        self.title, self.prefix = title, f"BuildSeg {kind}: "  # kind: what the run was (extraction, Grad-CAM…)
        self.name = None

    def group(self, project):
        root = project.layerTreeRoot()
        if self.name is None:
            existing = {g.name() for g in root.findGroups(True)}
            n, name = 1, f"{self.prefix}{self.title}"
            while name in existing:
                n += 1
                name = f"{self.prefix}{self.title} ({n})"
            self.name = name
            return root.insertGroup(0, name)
        return root.findGroup(self.name) or root.insertGroup(0, self.name)

    def suffix(self) -> str:
        return self.name[len(self.prefix):] if self.name else self.title


class StyleLayer(QgsProcessingLayerPostProcessorInterface):
    _alive = []  # QGIS does not own Python post-processors: keep them referenced

    def __init__(self, style: str, name: str, run: RunGroup = None, visible: bool = True, rank: int = 0):
        super().__init__()
        self.style, self.name, self.run, self.visible, self.rank = style, name, run, visible, rank

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 - QGIS API name
        if layer is None or not layer.isValid():
            return
        layer.loadNamedStyle(os.path.join(STYLES, self.style))
        layer.setCustomProperty("buildseg/output", self.style)  # the panel offers no output as imagery to run on
        layer.setName(self.name)
        project = context.project() if context is not None else None
        if self.run is not None and project is not None:
            self._place(project, layer)
        layer.triggerRepaint()

    def _place(self, project, layer):
        from qgis.core import QgsMapLayerType

        root = project.layerTreeRoot()
        node = root.findLayer(layer.id())
        if node is None:
            return
        group = self.run.group(project)
        layer.setName(f"{self.name} – {self.run.suffix()}")
        rank = self.rank if layer.type() != QgsMapLayerType.VectorLayer else -1  # vectors on top
        clone = node.clone()
        clone.setCustomProperty("buildseg/rank", rank)
        position = sum(int(c.customProperty("buildseg/rank", 0)) < rank for c in group.children())
        group.insertChildNode(position, clone)
        node.parent().removeChildNode(node)
        clone.setItemVisibilityChecked(self.visible)

    @classmethod
    def attach(cls, context, path: str, style: str, name: str, run: RunGroup = None, visible: bool = True,
               rank: int = 0) -> None:
        """Style the output at `path` when Processing loads it on completion; `rank` orders a run's layers in
        its group (lower is higher; vector layers always on top)."""
        if not path or not context.willLoadLayerOnCompletion(path):
            return
        processor = cls(style, name, run, visible, rank)
        cls._alive.append(processor)
        details = context.layerToLoadOnCompletionDetails(path)
        details.name = name
        details.setPostProcessor(processor)
