"""Regenerate resources/styles/*.qml with the QGIS API (so they always load in QGIS 3.22+)."""

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
OUT = Path(__file__).resolve().parent.parent / "resources" / "styles"


def main():
    from qgis.core import (
        QgsApplication,
        QgsColorRampShader,
        QgsFillSymbol,
        QgsPalettedRasterRenderer,
        QgsRasterLayer,
        QgsRasterShader,
        QgsSingleBandPseudoColorRenderer,
        QgsSingleSymbolRenderer,
        QgsStyle,
        QgsVectorLayer,
    )
    from qgis.PyQt.QtGui import QColor

    app = QgsApplication([], False)
    app.initQgis()
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    tmp = OUT / "_tmp.tif"
    with rasterio.open(tmp, "w", driver="GTiff", width=2, height=2, count=1, dtype="float32",
                       crs="EPSG:32640", transform=from_origin(0, 2, 1, 1)) as dst:
        dst.write(np.array([[[0, 0.5], [1, 0.2]]], np.float32))
    layer = QgsRasterLayer(str(tmp), "p")
    ramp = QgsStyle.defaultStyle().colorRamp("Magma")
    shader_fn = QgsColorRampShader(0.0, 1.0, ramp)
    shader_fn.classifyColorRamp(11, -1)
    shader = QgsRasterShader(0.0, 1.0)
    shader.setRasterShaderFunction(shader_fn)
    renderer = QgsSingleBandPseudoColorRenderer(layer.dataProvider(), 1, shader)
    renderer.setClassificationMin(0.0)
    renderer.setClassificationMax(1.0)
    layer.setRenderer(renderer)
    layer.renderer().setOpacity(0.75)
    layer.saveNamedStyle(str(OUT / "probability.qml"))

    classes = [QgsPalettedRasterRenderer.Class(0, QColor(0, 0, 0, 0), "background"),
               QgsPalettedRasterRenderer.Class(1, QColor(227, 26, 28), "building")]
    layer.setRenderer(QgsPalettedRasterRenderer(layer.dataProvider(), 1, classes))
    layer.renderer().setOpacity(0.7)
    layer.saveNamedStyle(str(OUT / "mask.qml"))
    del layer
    tmp.unlink()
    Path(str(tmp) + ".aux.xml").unlink(missing_ok=True)

    vec = QgsVectorLayer("Polygon?crs=EPSG:32640", "b", "memory")
    symbol = QgsFillSymbol.createSimple({"color": "227,26,28,70", "outline_color": "227,26,28,255",
                                         "outline_width": "0.5", "outline_width_unit": "MM"})
    vec.setRenderer(QgsSingleSymbolRenderer(symbol))
    vec.saveNamedStyle(str(OUT / "buildings.qml"))

    from qgis.core import QgsCategorizedSymbolRenderer, QgsRendererCategory

    categories = []
    for status, colour, label in (("TP", "51,160,44", "matched (TP)"), ("FP", "227,26,28", "false (FP)"),
                                  ("FN", "31,120,180", "missed (FN)")):
        sym = QgsFillSymbol.createSimple({"color": colour + ",90", "outline_color": colour + ",255",
                                          "outline_width": "0.5", "outline_width_unit": "MM"})
        categories.append(QgsRendererCategory(status, sym, label))
    vec.setRenderer(QgsCategorizedSymbolRenderer("status", categories))
    vec.saveNamedStyle(str(OUT / "evaluation.qml"))
    app.exitQgis()


if __name__ == "__main__":
    sys.exit(main())
