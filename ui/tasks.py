"""Processing algorithms run from the panel as QgsTasks: each run is written to the Processing history (as the
toolbox writes it, so it can be replayed), reports progress and messages, honours cancel, and on success loads
its layers the way the toolbox does (our styles and groups included)."""

from qgis.core import (
    QgsApplication,
    QgsProcessingAlgRunnerTask,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProject,
)
from qgis.PyQt.QtCore import QObject, pyqtSignal


class PanelFeedback(QgsProcessingFeedback):
    """Feedback whose messages also arrive as a signal (queued to the panel's thread)."""

    message = pyqtSignal(str)
    error = ""  # the last error reported: the reason a failed run gives (a QgsProcessingException's text)

    def pushInfo(self, info):  # noqa: N802 - QGIS API name
        super().pushInfo(info)
        self.message.emit(info)

    def pushWarning(self, warning):  # noqa: N802 - QGIS API name
        super().pushWarning(warning)
        self.message.emit(warning)

    def reportError(self, error, fatalError=False):  # noqa: N802, N803 - QGIS API names
        super().reportError(error, fatalError)
        self.error = error
        self.message.emit(error)


class AlgorithmRun(QObject):
    """One algorithm run in the background. `finished(ok, results)` comes in the GUI thread after the layers
    are loaded; `progress(percent)` and `message(text)` as it runs."""

    finished = pyqtSignal(bool, dict)
    progress = pyqtSignal(float)
    message = pyqtSignal(str)

    def __init__(self, alg_id: str, params: dict, parent=None, before_load=None):
        super().__init__(parent)
        self.before_load = before_load  # called on success, before the new layers are loaded
        registry = QgsApplication.processingRegistry()
        self.alg = registry.createAlgorithmById(alg_id)
        if self.alg is None:
            raise ValueError(f"No Processing algorithm {alg_id}: is the BuildSeg provider loaded?")
        self.params = params
        self.context = QgsProcessingContext()
        self.context.setProject(QgsProject.instance())
        self.feedback = PanelFeedback()
        self.feedback.progressChanged.connect(self.progress)
        self.feedback.message.connect(self.message)
        self.done, self.ok, self.results = False, False, {}
        self.task = None

    def start(self) -> None:
        """Log the run in the Processing history, then start it in the task manager."""
        from processing.core.ProcessingLog import ProcessingLog

        command = self.alg.asPythonCommand(self.params, self.context)
        if command:
            ProcessingLog.addToLog(command)
        self.task = QgsProcessingAlgRunnerTask(self.alg, self.params, self.context, self.feedback)
        self.task.executed.connect(self._executed)
        QgsApplication.taskManager().addTask(self.task)

    def cancel(self) -> None:
        self.feedback.cancel()
        if self.task is not None:
            self.task.cancel()

    def _executed(self, ok: bool, results: dict) -> None:
        if ok:
            from processing.gui.Postprocessing import handleAlgorithmResults

            if self.before_load is not None:
                self.before_load()
            handleAlgorithmResults(self.alg, self.context, self.feedback, showResults=False)
        self.done, self.ok, self.results = True, bool(ok), dict(results or {})
        self.finished.emit(self.ok, self.results)
