"""The panel's small widgets: collapsible sections, combo boxes that fit a narrow dock, buttons."""

from qgis.gui import QgsCollapsibleGroupBox
from qgis.PyQt.QtWidgets import QComboBox, QPushButton


def _section(title: str) -> QgsCollapsibleGroupBox:
    """A collapsible section of the panel (its state remembered between sessions)."""
    box = QgsCollapsibleGroupBox(title)
    box.setObjectName(f"buildseg_panel_{title.lower().replace(' ', '_')}")
    box.setSaveCollapsedState(True)
    return box


def _narrow(combo) -> None:
    """A combo box that fits a narrow dock: its width follows the dock, not its longest entry (the entry's
    start, the name, stays in view)."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(10)


def _button(text: str, name: str, slot) -> QPushButton:
    b = QPushButton(text)
    b.setObjectName(name)
    b.clicked.connect(lambda _=False: slot())
    return b
