"""Layers and places in the project as the panel passes them to Processing: layer values that replay, extent
strings, output destinations loaded on completion, the folder the panel writes in."""

import os

from qgis.core import QgsProject


def _layer_value(layer) -> str:
    """A layer as a Processing parameter value that replays: its file (with its layer name) when it has one,
    else its id."""
    source = layer.source()
    return source if os.path.exists(source.split("|")[0]) else layer.id()


def _home() -> str:
    """Where the panel writes: beside the project when it is saved, else in ~/buildseg."""
    return QgsProject.instance().homePath() or os.path.join(os.path.expanduser("~"), "buildseg")


def _extent_string(rect, crs) -> str:
    """A rectangle as a Processing extent value, with its CRS."""
    return f"{rect.xMinimum()},{rect.xMaximum()},{rect.yMinimum()},{rect.yMaximum()} [{crs.authid()}]"


def _loaded(path: str):
    """An output destination that is loaded into the project when the run ends (as the toolbox does)."""
    from qgis.core import QgsProcessingOutputLayerDefinition

    return QgsProcessingOutputLayerDefinition(path, QgsProject.instance())


def _layers_under(folder: str) -> list:
    """Ids of the project's layers whose files are in `folder`."""
    folder = os.path.abspath(folder) + os.sep
    return [lid for lid, lay in QgsProject.instance().mapLayers().items()
            if os.path.abspath(lay.source().split("|")[0]).startswith(folder)]


def below_labels(layer_ids) -> None:
    """Move the groups of `layer_ids` (a heatmap's) just below the panel's label layers, so the layers being
    edited stay on top; nothing when there are no label layers."""
    root = QgsProject.instance().layerTreeRoot()
    labels = next((g for g in root.children() if g.name().startswith("BuildSeg labels")), None)
    if labels is None:
        return
    for lid in layer_ids:
        node = root.findLayer(lid)
        group = node.parent() if node is not None else None
        if group is None or group is root or group.parent() is not root:
            continue
        clone = group.clone()
        root.insertChildNode(root.children().index(labels) + 1, clone)
        root.removeChildNode(group)
