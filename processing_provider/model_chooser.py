"""The MODEL parameter's widget in dialogs: a list of the bundled model and the model folder's models, each
with its description (architecture, bands, resolution, classes), the choice by resolution (`auto`), plus a
browse button for any other file. The parameter stays a plain file path (or `auto`), so qgis_process, batch runs
and the model builder take paths."""

import glob
import os

from processing.gui.wrappers import WidgetWrapper
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QToolButton, QWidget

from ..engine.models.choice import bundled_models
from ..engine.models.modelfile import catalogue
from . import settings
from .base import AUTO_MODEL, DEFAULT_MODEL

AUTO_ENTRY = ("Chosen by resolution (auto)", "the bundled model whose training imagery covers each input's ground "
              "resolution (buildings-blocks for imagery coarser than about 0.63 m)")


def available_models() -> list:
    """[(value, label, description)]: the default model first (value ''), the other bundled models (by bare
    file name, which MODEL also takes in qgis_process), then the model folder's files."""
    folder = settings.model_folder()
    files = sorted(p for ext in ("*.safetensors", "*.onnx") for p in glob.glob(os.path.join(folder, ext))) \
        if os.path.isdir(folder) else []
    default = settings.model_path("", DEFAULT_MODEL)
    bundled = [p for p in bundled_models(DEFAULT_MODEL)[1:] if p != default]
    # the file name first: a narrow chooser shows the start of an entry
    out = [("", f"{os.path.basename(default)} (default)", desc) for _, _, desc in catalogue([default])]
    out += [(os.path.basename(path), f"{name} (bundled)", desc) for path, name, desc in catalogue(bundled)]
    out += [(path, name, desc) for path, name, desc in catalogue(files) if path != default]
    return out


class ModelChooserWrapper(WidgetWrapper):
    def createWidget(self, by_resolution: bool = False):  # noqa: N802 - Processing API name; keyword from metadata
        box = QWidget()
        layout = QHBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        self.combo = QComboBox()
        self.combo.setObjectName("buildseg_model_chooser")
        self.combo.setEditable(True)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(20)
        auto = [(AUTO_MODEL, *AUTO_ENTRY)] if by_resolution else []
        for value, label, desc in available_models() + auto:
            self.combo.addItem(f"{label} — {desc}", value)
            self.combo.setItemData(self.combo.count() - 1, desc, Qt.ItemDataRole.ToolTipRole)
        browse = QToolButton()
        browse.setText("…")
        browse.clicked.connect(self._browse)
        layout.addWidget(self.combo, 1)
        layout.addWidget(browse)
        return box

    def _browse(self):
        path, _ = QFileDialog.getOpenFileName(self.widget, self.tr("Choose a BuildSeg model"),
                                              settings.model_folder(),
                                              "BuildSeg or ONNX models (*.safetensors *.onnx)")
        if path:
            self.combo.setEditText(path)

    def setValue(self, value):  # noqa: N802 - Processing API name
        self.setComboValue(value or "", self.combo)

    def value(self):
        text = self.combo.currentText().strip()
        idx = self.combo.findText(text)
        return self.combo.itemData(idx) if idx >= 0 else text
