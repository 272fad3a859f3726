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


class EtaProgress(_SubProgress):
    """Progress that, once a small share of the work is done, logs how long the rest should take at the speed
    seen so far (one line; long runs say early what they will cost)."""

    def __init__(self, parent: Progress, what: str, after_percent: float = 2.0, after_seconds: float = 20.0):
        import time

        super().__init__(parent, 0, 100)
        self.what, self.after_percent, self.after_seconds = what, after_percent, after_seconds
        self.t0, self.told = time.monotonic(), False

    def set_progress(self, percent: float) -> None:
        import time

        super().set_progress(percent)
        spent = time.monotonic() - self.t0
        if not self.told and percent >= self.after_percent and spent >= self.after_seconds and percent < 90:
            self.told = True
            left = spent * (100 - percent) / percent
            self.info(f"{self.what}: {percent:.0f} % done in {_duration(spent)}; about {_duration(left)} left at "
                      "this speed.")


def _duration(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min" if h else f"{m} min {s:02d} s"

