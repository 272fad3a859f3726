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
        self.actions = []
        self.toolbar = None
        self.panel = None
        self.panel_action = None
        self.translator = install_translator()

    def initProcessing(self):
        from .processing_provider.provider import BuildSegProvider

        if self.provider is None:
            self.provider = BuildSegProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    # (algorithm id, menu text, on the toolbar)
    ENTRIES = [("buildseg:extractbuildings", "Extract buildings…", True),
               ("buildseg:trainmodel", "Train building model…", True),
               ("buildseg:checkdependencies", "Check / install dependencies…", False)]

    def initGui(self):
        self.initProcessing()
        if self.iface is None:
            return
        from qgis.PyQt.QtCore import QCoreApplication
        from qgis.PyQt.QtGui import QIcon
        from qgis.PyQt.QtWidgets import QAction

        from .processing_provider.provider import ICON, icon_path

        self.toolbar = self.iface.addToolBar("BuildSeg")
        self.toolbar.setObjectName("BuildSegToolbar")
        panel = QAction(QIcon(ICON), QCoreApplication.translate("BuildSeg", "BuildSeg panel"),
                        self.iface.mainWindow())
        panel.setObjectName("buildseg_panel")
        panel.setCheckable(True)
        panel.toggled.connect(self.show_panel)
        self.iface.addPluginToRasterMenu("BuildSeg", panel)
        self.toolbar.addAction(panel)
        self.actions.append(panel)
        self.panel_action = panel
        for alg_id, text, on_toolbar in self.ENTRIES:
            name = alg_id.split(":")[1]
            action = QAction(QIcon(icon_path(name)), QCoreApplication.translate("BuildSeg", text),
                             self.iface.mainWindow())
            action.setObjectName("buildseg_" + name)
            action.triggered.connect(lambda _=False, a=alg_id: self.open_dialog(a))
            self.iface.addPluginToRasterMenu("BuildSeg", action)
            if on_toolbar:
                self.toolbar.addAction(action)
            self.actions.append(action)

    def show_panel(self, visible: bool = True):
        """The BuildSeg dock (made on first use), shown or hidden with its toolbar button."""
        if visible and self.panel is None:
            from qgis.PyQt.QtCore import Qt

            from .ui.panel import BuildSegPanel

            self.panel = BuildSegPanel(self.iface, self.iface.mainWindow())
            self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.panel)
            self.panel.visibilityChanged.connect(self.panel_action.setChecked)
        if self.panel is not None:
            self.panel.setVisible(visible)
        return self.panel

    def open_dialog(self, alg_id: str):
        """The algorithm's Processing dialog, non-modal, as the toolbox opens it."""
        from processing import createAlgorithmDialog

        dialog = createAlgorithmDialog(alg_id, {})
        if dialog is not None:
            dialog.show()
            self._dialog = dialog  # keep it alive while open

    def unload(self):
        if self.translator is not None:
            from qgis.PyQt.QtCore import QCoreApplication

            QCoreApplication.removeTranslator(self.translator)
            self.translator = None
        if self.panel is not None:
            self.panel.cancel()
            self.iface.removeDockWidget(self.panel)
            self.panel.deleteLater()
            self.panel = None
        if self.iface is not None:
            for action in self.actions:
                self.iface.removePluginRasterMenu("BuildSeg", action)
            if self.toolbar is not None:
                self.toolbar.deleteLater()
        self.actions, self.toolbar = [], None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
