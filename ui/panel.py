"""The BuildSeg dock: choose a model, run it on the map view, make label layers, retrain, see where to label
next. Every action is a Processing algorithm run (ui.tasks), logged in the Processing history."""

import os
import shutil

from qgis.core import (
    Qgis,
    QgsMapLayerProxyModel,
    QgsProject,
)
from qgis.gui import QgsDockWidget, QgsMapLayerComboBox
from qgis.PyQt.QtCore import Qt, QTimer
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from .label_next import LabelNext
from .panel_widgets import _button, _narrow, _section
from .project_paths import _extent_string, _home, _layer_value, _layers_under, _loaded
from .tasks import AlgorithmRun


class BuildSegPanel(LabelNext, QgsDockWidget):
    def __init__(self, iface, parent=None):
        super().__init__("BuildSeg", parent)
        self.setObjectName("BuildSegPanel")
        self.iface = iface
        self.run = None  # the AlgorithmRun in progress or last finished
        self.results = {}  # (raster layer id, extent, AOI id, model) -> [layer ids] of the panel's extractions
        self.labels = {}  # name -> label layer made by the panel
        self.last_polygons = None
        self.tile_outline = None  # the rubber band around the tile chosen under "where to label next"
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(self._model_box())
        layout.addWidget(self._run_box())
        layout.addWidget(self._label_box())
        layout.addWidget(self._train_box())
        layout.addWidget(self._next_box())
        self.progress = QProgressBar()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setObjectName("buildseg_panel_status")
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        self.cancel_button = _button("Cancel", "buildseg_panel_cancel", self.cancel)
        self.cancel_button.setEnabled(False)  # only while a run goes
        row.addWidget(self.cancel_button)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        self.setWidget(scroll)
        self.refresh_models()
        self._watch_model_folder()

    # --- model -------------------------------------------------------------------------------------------
    def _model_box(self):
        box = _section("Model")
        lay = QVBoxLayout(box)
        self.model_combo = QComboBox()
        self.model_combo.setObjectName("buildseg_panel_model")
        _narrow(self.model_combo)
        self.model_combo.currentIndexChanged.connect(lambda _: self._describe_model())
        self.model_combo.currentIndexChanged.connect(lambda _: self.refresh_rasters())
        self.model_info = QLabel("")
        self.model_info.setWordWrap(True)
        self.model_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(_button("Import…", "buildseg_panel_import", self.import_model))
        row.addWidget(_button("Remove", "buildseg_panel_remove", self.remove_model))
        lay.addWidget(self.model_combo)
        lay.addWidget(self.model_info)
        lay.addLayout(row)
        return box

    def refresh_models(self, select: str = None) -> None:
        from ..processing_provider.model_chooser import available_models

        current = select if select is not None else self.model()
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for value, label, desc in available_models():
            self.model_combo.addItem(label, value)
            self.model_combo.setItemData(self.model_combo.count() - 1, desc, Qt.ItemDataRole.ToolTipRole)
        index = self.model_combo.findData(current)
        self.model_combo.setCurrentIndex(max(0, index))
        self.model_combo.blockSignals(False)
        self._describe_model()

    def _watch_model_folder(self) -> None:
        """The model list follows the model folder: a model trained from the Toolbox (or copied there) appears
        without a restart, a removed one goes."""
        from qgis.PyQt.QtCore import QFileSystemWatcher

        from ..processing_provider import settings

        self._watcher = QFileSystemWatcher(self)
        folder = settings.model_folder()
        if os.path.isdir(folder):
            self._watcher.addPath(folder)
        self._watcher.directoryChanged.connect(lambda _: self.refresh_models())

    def model(self) -> str:
        """The chosen model file ('' = the default model)."""
        return self.model_combo.currentData() or ""

    def model_names(self) -> list:
        return [self.model_combo.itemText(i) for i in range(self.model_combo.count())]

    def _describe_model(self) -> None:
        from ..engine.models.modelfile import details, read_info
        from ..processing_provider import settings
        from ..processing_provider.base import DEFAULT_MODEL

        try:
            info = read_info(settings.model_path(self.model(), DEFAULT_MODEL))
        except Exception as exc:  # a model that cannot be read says why instead of a description
            self.model_info.setText(f"Cannot read this model: {exc}")
            return
        self.model_info.setText(details(info, licences=False))
        self.model_info.setToolTip(details(info))  # licences and all

    def import_model(self, path: str = None) -> str:
        """Copy a model file into the model folder (never over another); returns the new path."""
        from ..engine.models.modelfile import read_info
        from ..processing_provider import settings

        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Import a model into the model folder", "",
                                                  "BuildSeg or ONNX models (*.safetensors *.onnx)")
            if not path:
                return ""
        try:
            read_info(path)
        except Exception as exc:
            self.say(f"Not imported: {exc}")
            return ""
        stem, ext = os.path.splitext(os.path.basename(path))
        target = settings.new_model_path(stem, ext)
        shutil.copyfile(path, target + ".part")
        os.replace(target + ".part", target)
        self.refresh_models(select=target)
        self.say(f"Imported {os.path.basename(target)} into the model folder.")
        return target

    def remove_model(self, confirm: bool = True) -> bool:
        """Delete the chosen model (and its STAC item) from the model folder; the default model stays."""
        from ..engine.models.stac import item_path
        from ..processing_provider import settings

        path = self.model()
        if not path or os.path.dirname(os.path.abspath(path)) != os.path.abspath(settings.model_folder()):
            self.say("Only models of the model folder can be removed here.")
            return False
        if confirm and QMessageBox.question(self, "BuildSeg", f"Delete {os.path.basename(path)}?") != \
                QMessageBox.StandardButton.Yes:
            return False
        for f in (path, item_path(path)):
            if os.path.exists(f):
                os.remove(f)
        self.refresh_models(select="")
        self.say(f"Removed {os.path.basename(path)}.")
        return True

    # --- run on the map view -------------------------------------------------------------------------------
    def _run_box(self):
        box = _section("Run on the map view")
        lay = QVBoxLayout(box)
        self.raster_combo = QgsMapLayerComboBox()
        self.raster_combo.setObjectName("buildseg_panel_raster")
        _narrow(self.raster_combo)
        self.raster_combo.setFilters(QgsMapLayerProxyModel.RasterLayer)
        self.raster_combo.setToolTip("Imagery the chosen model can read: BuildSeg's outputs and rasters with too "
                                     "few bands are not offered.")
        QgsProject.instance().layersAdded.connect(self.refresh_rasters)
        lay.addWidget(self.raster_combo)
        row = QVBoxLayout()  # the label above its box: a narrow dock keeps both whole
        aoi_label = QLabel("Area of interest (empty: the map view)")
        aoi_label.setWordWrap(True)
        row.addWidget(aoi_label)
        self.aoi_combo = QgsMapLayerComboBox()
        self.aoi_combo.setObjectName("buildseg_panel_aoi")
        _narrow(self.aoi_combo)
        self.aoi_combo.setFilters(QgsMapLayerProxyModel.PolygonLayer)
        self.aoi_combo.setAllowEmptyLayer(True)
        self.aoi_combo.setLayer(None)
        self.aoi_combo.setToolTip("Empty: the map view. A polygon layer: its features, clipped.")
        row.addWidget(self.aoi_combo, 1)
        lay.addLayout(row)
        lay.addWidget(_button("Extract buildings in view", "buildseg_panel_run", self.run_on_view))
        draw = _button("Draw a rectangle…", "buildseg_panel_draw", self.draw_rectangle)
        draw.setToolTip("Drag a rectangle on the map: buildings are extracted inside it.")
        lay.addWidget(draw)
        return box

    def refresh_rasters(self, *_) -> None:
        """Offer only rasters the chosen model can read (raster_choice); after layers are added, once their
        post-processing (styles, the output mark) has run."""
        from .raster_choice import refresh_for_model

        QTimer.singleShot(0, lambda: refresh_for_model(self.raster_combo, self.model(), self.iface))

    def view_extent(self) -> str:
        """The map view's extent as a Processing extent string (with its CRS)."""
        canvas = self.iface.mapCanvas()
        return _extent_string(canvas.extent(), canvas.mapSettings().destinationCrs())

    def draw_rectangle(self) -> None:
        """A map tool to drag a rectangle on the map; extraction runs over it when released."""
        from qgis.gui import QgsMapToolExtent

        canvas = self.iface.mapCanvas()
        self._tool = QgsMapToolExtent(canvas)
        previous = canvas.mapTool()

        def drawn(rect):
            canvas.setMapTool(previous) if previous is not None else canvas.unsetMapTool(self._tool)
            if not rect.isEmpty():
                self.run_on_view(_extent_string(rect, canvas.mapSettings().destinationCrs()))

        self._tool.extentChanged.connect(drawn)
        canvas.setMapTool(self._tool)
        hint = "Drag a rectangle on the map: buildings are extracted inside it (another map tool cancels)."
        self.say(hint)
        self.iface.messageBar().pushMessage("BuildSeg", hint, Qgis.Info, 10)  # where the eyes are: on the map

    def run_on_view(self, extent: str = None) -> bool:
        """Extract buildings over `extent` (default: the area of interest layer's extent, else the map view)."""
        layer, aoi = self.raster_combo.currentLayer(), self.aoi_combo.currentLayer()
        if layer is None:
            self.say("Add or choose a raster layer first.")
            return False
        if extent is None and aoi is not None:
            extent = _extent_string(aoi.extent(), aoi.crs())
        extent = extent or self.view_extent()
        # the same view with another model keeps both results side by side; with the same model it replaces
        key = (layer.id(), extent, aoi.id() if aoi is not None else "", self.model())
        folder = self._run_folder("extract")
        polygons = os.path.join(folder, "buildings.gpkg")
        params = {"INPUT": _layer_value(layer), "MODEL": self.model(), "EXTENT": extent,
                  "OUTPUT_MASK": _loaded(os.path.join(folder, "mask.tif")),
                  "OUTPUT_PROBABILITY": _loaded(os.path.join(folder, "probability.tif")),
                  "OUTPUT_POLYGONS": _loaded(polygons)}
        if aoi is not None:
            params["AOI"] = _layer_value(aoi)

        def done(ok, results):
            if ok:
                self.results[key] = _layers_under(folder)
                polys = [lay for lay in map(QgsProject.instance().mapLayer, self.results[key])
                         if lay is not None and lay.source().startswith(polygons)]
                self.last_polygons = polys[0] if polys else None
                self.say(f"{results.get('BUILDING_COUNT', 0)} building(s) in view; model fit "
                         f"{results.get('FIT_VERDICT') or 'not checked'}.")
            else:
                shutil.rmtree(folder, ignore_errors=True)
        return self._start("buildseg:extractbuildings", params, done, before_load=lambda: self._forget(key))

    def _forget(self, key) -> None:
        """Remove the panel's previous result of the same layer and extent (layers, group, files)."""
        project = QgsProject.instance()
        for layer_id in self.results.pop(key, []):
            layer = project.mapLayer(layer_id)
            if layer is None:
                continue
            source = layer.source().split("|")[0]
            node = project.layerTreeRoot().findLayer(layer_id)
            group = node.parent() if node is not None else None
            project.removeMapLayer(layer_id)
            if group is not None and group is not project.layerTreeRoot() and not group.children():
                group.parent().removeChildNode(group)
            shutil.rmtree(os.path.dirname(source), ignore_errors=True)

    # --- labels --------------------------------------------------------------------------------------------
    def _label_box(self):
        box = _section("Label")
        lay = QVBoxLayout(box)
        lay.addWidget(_button("Create label layers", "buildseg_panel_labels", self.create_labels))
        lay.addWidget(_button("Extracted buildings → labels", "buildseg_panel_to_labels", self.to_labels))
        return box

    def create_labels(self, path: str = None) -> bool:
        """Run 'Create label layers' for the chosen raster's CRS, into `path` (default: a new labels.gpkg beside
        the project, or in ~/buildseg); its layers join the project and digitizing starts."""
        from ..processing_provider.settings import new_file_path

        layer = self.raster_combo.currentLayer()
        path = path or new_file_path(_home(), "labels", ".gpkg")
        crs = layer.crs() if layer is not None else self.iface.mapCanvas().mapSettings().destinationCrs()
        params = {"CRS": crs.authid() or crs.toWkt(), "OUTPUT": path}
        return self._start("buildseg:createlabels", params, lambda ok, results: ok and self._add_labels(path))

    def _add_labels(self, path: str) -> None:
        from ..processing_provider.label_layers import open_label_layers

        made = open_label_layers(path)
        group = QgsProject.instance().layerTreeRoot().insertGroup(0, f"BuildSeg labels – {os.path.basename(path)}")
        for name in ("points", "labelled_area", "buildings"):
            QgsProject.instance().addMapLayer(made[name], False)
            group.insertLayer(0, made[name])
        self.labels = made
        made["buildings"].startEditing()
        self.iface.setActiveLayer(made["buildings"])
        self.iface.actionAddFeature().trigger()
        self.say(f"Label layers in {path}: draw buildings (class 'building'), the labelled area, or points.")

    def to_labels(self) -> int:
        """The last extraction's buildings in view copied into the buildings label layer, to accept or fix."""
        from ..processing_provider.label_layers import extraction_to_labels

        if self.last_polygons is None or "buildings" not in self.labels:
            self.say("Extract buildings in view and create label layers first.")
            return 0
        n = extraction_to_labels(self.last_polygons, self.labels["buildings"])
        self.iface.setActiveLayer(self.labels["buildings"])
        self.say(f"{n} extracted building(s) added to the labels: correct or delete them, then save the layer.")
        return n

    # --- retrain -------------------------------------------------------------------------------------------
    def _train_box(self):
        box = _section("Retrain")
        lay = QVBoxLayout(box)
        row = QHBoxLayout()
        row.addWidget(QLabel("Minutes"))
        self.minutes = QDoubleSpinBox()
        self.minutes.setObjectName("buildseg_panel_minutes")
        self.minutes.setToolTip("Time budget of the fine-tune, in minutes")
        self.minutes.setRange(0.5, 600)
        self.minutes.setValue(15)
        row.addWidget(self.minutes)
        lay.addLayout(row)
        lay.addWidget(_button("Fine-tune on the labels", "buildseg_panel_train", self.retrain))
        self.train_log = QLabel("")
        self.train_log.setWordWrap(True)
        self.train_log.setObjectName("buildseg_panel_validation")
        lay.addWidget(self.train_log)
        return box

    def retrain(self, minutes: float = None) -> bool:
        layer, labels = self.raster_combo.currentLayer(), self.labels.get("buildings")
        if layer is None or labels is None:
            self.say("Choose a raster and create label layers (and draw buildings) first.")
            return False
        for lab in self.labels.values():
            if lab.isEditable() and not lab.commitChanges():
                self.say(f"Cannot save the edits of {lab.name()}: {'; '.join(lab.commitErrors())}")
                return False
        if labels.featureCount() == 0:
            self.say("Draw some buildings first.")
            return False
        params = {"INPUT": [_layer_value(layer)], "LABELS": labels.source(), "MODEL": self.model(),
                  "TIME_BUDGET": float(minutes if minutes is not None else self.minutes.value())}
        area = self.labels.get("labelled_area")
        if area is not None and area.featureCount():
            params["LABELLED_AREA"] = area.source()
        self.train_log.setText("")

        def done(ok, results):
            out = results.get("OUTPUT_MODEL", "")
            if ok and results.get("BEST_EPOCH") == 0 and out:  # the start was kept: no copy of it as a new model
                from ..engine.models.stac import item_path

                for f in (out, item_path(out)):
                    if os.path.exists(f):
                        os.remove(f)
                self.refresh_models(select=self.model())
                self.say("The fine-tune did not beat the model it started from on validation: no new model was "
                         "written, and that model stays chosen. Label more buildings (or train longer).")
            elif ok:
                self.refresh_models(select=out)
                self.say(f"New model {os.path.basename(out)} chosen; the previous one is kept in the list.")

        return self._start("buildseg:trainmodel", params, done, on_message=self._training_line)

    def _training_line(self, text: str) -> None:
        if "validation IoU" in text or "starting model" in text.lower():
            lines = (self.train_log.text().splitlines() + [text.strip()])[-4:]
            self.train_log.setText("\n".join(lines))

    # --- running -------------------------------------------------------------------------------------------
    def busy(self) -> bool:
        return self.run is not None and not self.run.done

    def _start(self, alg_id, params, done, before_load=None, on_message=None) -> bool:
        if self.busy():
            self.say("Another BuildSeg run is in progress: wait for it or cancel it.")
            return False
        self.run = AlgorithmRun(alg_id, params, self, before_load=before_load)
        self.run.progress.connect(lambda p: self.progress.setValue(int(p)))
        self.run.message.connect(lambda text: self._message(text, on_message))
        self.run.finished.connect(lambda ok, results: self._finished(ok, results, done))
        self.progress.setValue(0)
        self.cancel_button.setEnabled(True)
        self.say(f"Running {self.run.alg.displayName()}…")
        self.run.start()
        return True

    def _message(self, text: str, on_message=None) -> None:
        """A run's log line: the up-front estimate of the work ("Work: … MP … tiles … MB") shown under the
        progress bar while it runs; every line to `on_message`."""
        if text.startswith("Work:") and self.busy():
            self.say(f"Running {self.run.alg.displayName()}… {text}")
        if on_message is not None:
            on_message(text)

    def _finished(self, ok, results, done) -> None:
        self.progress.setValue(100 if ok else 0)
        self.cancel_button.setEnabled(False)
        if not ok:
            reason = (self.run.feedback.error or "").strip().splitlines()
            self.say("Cancelled: nothing was written." if self.run.feedback.isCanceled() else
                     f"The run failed: {reason[0]} (the whole log: Log Messages panel, Processing)" if reason else
                     "The run failed: see the Log Messages panel (Processing) for why.")
        done(ok, results)

    def cancel(self) -> None:
        if self.busy():
            self.run.cancel()

    def _run_folder(self, kind: str) -> str:
        """A new folder for one run's outputs: beside the project when it is saved, else in ~/buildseg."""
        import tempfile

        base = os.path.join(_home(), "buildseg_runs")
        os.makedirs(base, exist_ok=True)
        return tempfile.mkdtemp(prefix=f"{kind}-", dir=base)

    def say(self, text: str) -> None:
        self.status.setText(text)
