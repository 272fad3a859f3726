"""A one-thread pipeline stage: finished rows are written and polygonized while the next tiles run."""

import queue
import threading


class Background:
    """Runs submitted calls in order in one worker thread.

    At most `depth` calls wait (so memory stays flat); an error in the worker is raised in the caller at the
    next submit or on leaving the `with` block. Leaving the block by an exception drops the waiting calls.
    GDAL, NumPy and ONNX Runtime release the GIL, so the stage really runs beside the model.
    """

    def __init__(self, depth: int = 1):
        self._queue = queue.Queue(maxsize=depth)
        self._error = None
        self._dropping = False
        self._thread = threading.Thread(target=self._work, name="buildseg-rows", daemon=True)
        self.results = []  # what each call returned, in order (read after the block)

    def __enter__(self):
        self._thread.start()
        return self

    def _work(self):
        while True:
            call = self._queue.get()
            if call is None:
                return
            if self._error is None and not self._dropping:
                try:
                    self.results.append(call())
                except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
                    self._error = e

    def submit(self, call) -> None:
        self._raise()
        self._queue.put(call)

    def _raise(self):
        if self._error is not None:
            raise self._error

    def __exit__(self, kind, value, tb):
        self._dropping = kind is not None
        self._queue.put(None)
        self._thread.join()
        if kind is None:
            self._raise()
        return False
