"""Registers the BuildSeg Processing provider (Toolbox, model builder, qgis_process)."""

from qgis.core import QgsApplication


class BuildSegPlugin:
    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.action = None

    def initProcessing(self):
        from .processing_provider.provider import BuildSegProvider

        if self.provider is None:
            self.provider = BuildSegProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):
        self.initProcessing()
        if self.iface is None:
            return
        from qgis.PyQt.QtGui import QIcon
        from qgis.PyQt.QtWidgets import QAction

        from .processing_provider.provider import ICON

        self.action = QAction(QIcon(ICON), "Check / install dependencies…", self.iface.mainWindow())
        self.action.triggered.connect(self.open_dependencies)
        self.iface.addPluginToRasterMenu("BuildSeg", self.action)

    def open_dependencies(self):
        from processing import execAlgorithmDialog

        execAlgorithmDialog("buildseg:checkdependencies", {})

    def unload(self):
        if self.action is not None and self.iface is not None:
            self.iface.removePluginRasterMenu("BuildSeg", self.action)
            self.action = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
