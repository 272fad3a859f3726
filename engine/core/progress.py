"""A small progress/cancel/log interface the engine reports through.

The QGIS provider passes an adapter around QgsProcessingFeedback; plain Python
callers use `Progress()` (prints nothing, never cancels) or `PrintProgress`.
"""

from .errors import Cancelled


class Progress:
    def set_progress(self, percent: float) -> None:
        pass

    def info(self, message: str) -> None:
        pass

    def warn(self, message: str) -> None:
        pass

    def is_canceled(self) -> bool:
        return False

    def check(self) -> None:
        """Raise Cancelled when the user asked to stop."""
        if self.is_canceled():
            raise Cancelled()

    def sub(self, start: float, end: float) -> "Progress":
        """A view of this progress that maps 0..100 onto start..end."""
        return _SubProgress(self, start, end)

    def quiet(self) -> "Progress":
        """A view that reports progress and honours cancel but keeps its messages to itself (nested runs)."""
        return _QuietProgress(self, 0, 100)


class PrintProgress(Progress):
    def info(self, message: str) -> None:
        print(message, flush=True)

    def warn(self, message: str) -> None:
        print("WARNING: " + message, flush=True)


class _SubProgress(Progress):
    def __init__(self, parent: Progress, start: float, end: float):
        self.parent, self.start, self.end = parent, start, end

    def set_progress(self, percent: float) -> None:
        self.parent.set_progress(self.start + (self.end - self.start) * percent / 100.0)

    def info(self, message: str) -> None:
        self.parent.info(message)

    def warn(self, message: str) -> None:
        self.parent.warn(message)

    def is_canceled(self) -> bool:
        return self.parent.is_canceled()


class _QuietProgress(_SubProgress):
    def info(self, message: str) -> None:
        pass

    def warn(self, message: str) -> None:
        pass
