"""README screenshot: the styled outputs on the bundled sample, rendered headless (the dialogs and the desktop
come from the real desktop: scripts/desktop_screenshots.py).

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py

Writes docs/styled_outputs.jpg (QgsMapRendererParallelJob: the sample with the building polygons, and the
probability heatmap, each with the QML style BuildSeg applies when the outputs are loaded).
"""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
STYLES = ROOT / "resources" / "styles"
SAMPLE = ROOT / "resources" / "sample" / "sample.tif"


def start_qgis():
    from qgis.core import QgsApplication
    from qgis.gui import QgsGui

    link = Path(tempfile.mkdtemp(prefix="buildseg-shots-")) / "buildseg"
    link.symlink_to(ROOT)
    sys.path.insert(0, str(link.parent))
    sys.path.append("/usr/share/qgis/python/plugins")
    app = QgsApplication([], True)
    app.initQgis()
    QgsGui.editorWidgetRegistry().initEditors()
    from processing.core.Processing import Processing

    Processing.initialize()
    import buildseg

    plugin = buildseg.classFactory(None)
    plugin.initProcessing()
    return app, plugin  # keep the plugin (and its provider) alive


def render(layers, extent, size=(640, 640)):
    from qgis.core import QgsMapRendererParallelJob, QgsMapSettings
    from qgis.PyQt.QtCore import QSize

    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(layers[-1].crs())
    settings.setExtent(extent)
    settings.setOutputSize(QSize(*size))
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    return job.renderedImage()


def outputs_jpg(out: Path) -> None:
    import processing
    from qgis.core import QgsRasterLayer, QgsVectorLayer
    from qgis.PyQt.QtGui import QImage, QPainter

    work = Path(tempfile.mkdtemp(prefix="buildseg-shots-"))
    res = processing.run("buildseg:extractbuildings", {
        "INPUT": str(SAMPLE), "OUTPUT_PROBABILITY": str(work / "p.tif"), "OUTPUT_POLYGONS": str(work / "b.gpkg")})
    image = QgsRasterLayer(str(SAMPLE), "Sample")
    prob = QgsRasterLayer(res["OUTPUT_PROBABILITY"], "Building probability")
    prob.loadNamedStyle(str(STYLES / "probability.qml"))
    buildings = QgsVectorLayer(res["OUTPUT_POLYGONS"], "Buildings", "ogr")
    buildings.loadNamedStyle(str(STYLES / "buildings.qml"))
    extent = image.extent()
    left = render([buildings, image], extent)
    right = render([prob, image], extent)
    combined = QImage(left.width() * 2 + 16, left.height(), QImage.Format_RGB32)
    combined.fill(0xFFFFFF)
    painter = QPainter(combined)
    painter.drawImage(0, 0, left)
    painter.drawImage(left.width() + 16, 0, right)
    painter.end()
    combined.save(str(out), "JPG", 85)


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    DOCS.mkdir(exist_ok=True)
    app, _plugin = start_qgis()
    outputs_jpg(DOCS / "styled_outputs.jpg")
    print(DOCS / "styled_outputs.jpg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
