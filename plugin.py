"""Registers the BuildSeg Processing provider (Toolbox, model builder, qgis_process)."""

import os

from qgis.core import QgsApplication

I18N = os.path.join(os.path.dirname(os.path.abspath(__file__)), "i18n")


def install_translator(locale: str = None):
    """Install BuildSeg's translation for `locale` (default: QGIS's user locale); returns it, or None."""
    from qgis.core import QgsSettings
    from qgis.PyQt.QtCore import QCoreApplication, QLocale, QTranslator

    locale = locale or QgsSettings().value("locale/userLocale", "") or QLocale.system().name()
    path = os.path.join(I18N, f"buildseg_{str(locale)[:2]}.qm")
    if not os.path.exists(path):
        return None
    translator = QTranslator()
    if not translator.load(path):
        return None
    QCoreApplication.installTranslator(translator)
    return translator


class BuildSegPlugin:
    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.action = None
        self.translator = install_translator()

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
        if self.translator is not None:
            from qgis.PyQt.QtCore import QCoreApplication

            QCoreApplication.removeTranslator(self.translator)
            self.translator = None
        if self.action is not None and self.iface is not None:
            self.iface.removePluginRasterMenu("BuildSeg", self.action)
            self.action = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
