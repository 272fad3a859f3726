"""Label layers for training, made in one click: a GeoPackage with `buildings` (polygons with a `class` field),
`labelled_area` (polygons: where labelling is complete) and `points` (one click per building, for pseudo-masks),
in the imagery's CRS; and extracted buildings turned into editable labels."""

import os

from qgis.core import (
    QgsCoordinateTransform,
    QgsDefaultValue,
    QgsFeature,
    QgsField,
    QgsFields,
    QgsProject,
    QgsVectorFileWriter,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QVariant

LAYERS = (("buildings", QgsWkbTypes.MultiPolygon, "Labelled buildings"),
          ("labelled_area", QgsWkbTypes.MultiPolygon, "Labelled area"),
          ("points", QgsWkbTypes.Point, "Building points"))
STYLES = {"buildings": ("#e31a1c", "0.6"), "labelled_area": ("#1f78b4", "1.2"), "points": ("#ff7f00", None)}


def write_label_package(path: str, crs, transform_context) -> str:
    """Write the GeoPackage at `path`, atomically; refused if it exists (labels are never overwritten)."""
    from ..engine.core.atomic import atomic_path

    if os.path.exists(path):
        raise FileExistsError(f"{path} exists: choose a new file name (labels are never overwritten).")
    fields = QgsFields()
    fields.append(QgsField("class", QVariant.Type.String))
    with atomic_path(path) as tmp:
        for i, (name, geometry, _) in enumerate(LAYERS):
            options = QgsVectorFileWriter.SaveVectorOptions()
            options.driverName = "GPKG"
            options.layerName = name
            if i:
                options.actionOnExistingFile = QgsVectorFileWriter.CreateOrOverwriteLayer
            writer = QgsVectorFileWriter.create(tmp, fields if name != "labelled_area" else QgsFields(), geometry,
                                                crs, transform_context, options)
            if writer.hasError() != QgsVectorFileWriter.NoError:
                raise OSError(f"Cannot write {path}: {writer.errorMessage()}")
            del writer  # closes the file
    return path


def open_label_layers(path: str) -> dict:
    """The package's layers {name: QgsVectorLayer}, styled, with 'building' as the default class; not yet in a
    project."""
    out = {}
    for name, _, title in LAYERS:
        layer = QgsVectorLayer(f"{path}|layername={name}", title, "ogr")
        if not layer.isValid():
            raise OSError(f"{path} has no readable layer '{name}': is it a BuildSeg label package?")
        _style(layer, name)
        if name != "labelled_area":
            layer.setDefaultValueDefinition(layer.fields().indexOf("class"), QgsDefaultValue("'building'"))
        out[name] = layer
    return out


def _style(layer, name: str) -> None:
    from qgis.core import QgsFillSymbol, QgsMarkerSymbol, QgsSingleSymbolRenderer

    colour, width = STYLES[name]
    if name == "points":
        symbol = QgsMarkerSymbol.createSimple({"color": colour, "size": "2.5"})
    else:
        symbol = QgsFillSymbol.createSimple({"color": "0,0,0,0", "outline_color": colour, "outline_width": width,
                                             "style": "no"})
    layer.setRenderer(QgsSingleSymbolRenderer(symbol))


def extraction_to_labels(polygons: QgsVectorLayer, buildings: QgsVectorLayer) -> int:
    """Copy extracted building polygons into the labels layer's edit buffer: the user accepts them by saving,
    corrects or deletes them first. Returns the number copied."""
    if not buildings.isEditable() and not buildings.startEditing():
        raise OSError(f"The layer {buildings.name()} cannot be edited.")
    tr = QgsCoordinateTransform(polygons.crs(), buildings.crs(), QgsProject.instance())
    added = []
    for feat in polygons.getFeatures():
        geom = feat.geometry()
        if geom.isEmpty():
            continue
        geom.transform(tr)
        geom.convertToMultiType()
        new = QgsFeature(buildings.fields())
        new.setGeometry(geom)
        new["class"] = "building"
        added.append(new)
    if added and not buildings.addFeatures(added):
        raise OSError(f"Cannot add the buildings to {buildings.name()}.")
    return len(added)
