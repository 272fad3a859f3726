"""The panel's "Where to label next": the uncertainty of the view as a heatmap, its most uncertain tiles listed,
the chosen one zoomed to and outlined on the map."""

import os
import shutil

from qgis.core import QgsCoordinateTransform, QgsProject, QgsRectangle
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QListWidget, QListWidgetItem, QVBoxLayout

from .panel_widgets import _button, _section
from .project_paths import _layer_value, _layers_under, _loaded, below_labels

UNCERTAIN_TILE_PX = 256  # windows listed under "where to label next"


class LabelNext:
    """Part of BuildSegPanel (its raster chooser, model, runs and status come from it)."""

    def _next_box(self):
        box = _section("Where to label next")
        lay = QVBoxLayout(box)
        lay.addWidget(_button("Uncertainty of the view", "buildseg_panel_uncertainty", self.uncertainty))
        self.hard_list = QListWidget()
        self.hard_list.setObjectName("buildseg_panel_hardest")
        self.hard_list.itemActivated.connect(self._zoom_to)
        self.hard_list.itemClicked.connect(self._zoom_to)
        lay.addWidget(self.hard_list)
        return box

    def uncertainty(self, extent: str = None) -> bool:
        from ..engine.explain.heatmap import MODES

        layer = self.raster_combo.currentLayer()
        if layer is None:
            self.say("Choose a raster layer first.")
            return False
        folder = self._run_folder("uncertainty")
        out = os.path.join(folder, "uncertainty.tif")
        params = {"INPUT": _layer_value(layer), "MODEL": self.model(), "EXTENT": extent or self.view_extent(),
                  "MODE": MODES.index("entropy"), "OUTPUT": _loaded(out)}
        self.hard_list.clear()  # no stale list of another view while this one runs

        def done(ok, results):
            if not ok:
                shutil.rmtree(folder, ignore_errors=True)
                return
            from ..engine.explain.heatmap import hardest_windows

            below_labels(_layers_under(folder))  # the label layers being edited stay on top
            self.hard_list.clear()
            for rank, (value, bounds) in enumerate(hardest_windows(out, UNCERTAIN_TILE_PX), 1):
                item = QListWidgetItem(f"{rank}. uncertainty {value:.2f}")
                item.setData(Qt.ItemDataRole.UserRole, (bounds, layer.crs().authid()))
                self.hard_list.addItem(item)
            self.say("The most uncertain tiles are listed: click one to go there and label it.")

        return self._start("buildseg:exportheatmap", params, done)

    def zoom_to_tile(self, row: int) -> bool:
        """Go to the listed tile at `row` (as clicking it does)."""
        item = self.hard_list.item(row)
        if item is not None:
            self._zoom_to(item)
        return item is not None

    def _zoom_to(self, item) -> None:
        """Zoom to the tile and outline it on the map (a rubber band, until another tile is chosen)."""
        from qgis.core import QgsCoordinateReferenceSystem, QgsGeometry, QgsWkbTypes
        from qgis.gui import QgsRubberBand

        (x0, y0, x1, y1), authid = item.data(Qt.ItemDataRole.UserRole)
        canvas = self.iface.mapCanvas()
        tr = QgsCoordinateTransform(QgsCoordinateReferenceSystem(authid), canvas.mapSettings().destinationCrs(),
                                    QgsProject.instance())
        rect = tr.transformBoundingBox(QgsRectangle(x0, y0, x1, y1))
        if self.tile_outline is None:
            self.tile_outline = QgsRubberBand(canvas, QgsWkbTypes.PolygonGeometry)
            self.tile_outline.setStrokeColor(Qt.GlobalColor.magenta)
            self.tile_outline.setWidth(2)
        self.tile_outline.setToGeometry(QgsGeometry.fromRect(rect), None)
        canvas.setExtent(rect.buffered(rect.width() * 0.25))
        canvas.refresh()
