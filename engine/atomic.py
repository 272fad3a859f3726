"""Write outputs atomically: a temporary name in the destination folder, renamed at the end."""

import contextlib
import os
import tempfile
import uuid

from .errors import BuildSegError

# sidecars GDAL/OGR may write next to a file
_SIDECARS = (".aux.xml", "-journal", "-wal", "-shm", ".ovr")


def check_writable(path: str, inputs=()) -> None:
    """Refuse outputs that would overwrite an input, or whose folder is missing or read-only."""
    folder = os.path.dirname(os.path.abspath(path)) or "."
    for src in inputs:
        if src and os.path.exists(src) and os.path.exists(path) and os.path.samefile(src, path):
            raise BuildSegError(f"The output {path} is also an input: BuildSeg never overwrites its input. "
                                "Choose another output file.")
    if not os.path.isdir(folder):
        raise BuildSegError(f"The output folder {folder} does not exist: create it or choose another.")
    try:  # a real probe: os.access says yes to root on a read-only file system
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".buildseg-probe-"):
            pass
    except OSError:
        raise BuildSegError(f"The output folder {folder} is not writable: choose another folder.") from None


def remove_quietly(path: str) -> None:
    for p in (path,) + tuple(path + s for s in _SIDECARS):
        with contextlib.suppress(OSError):
            os.remove(p)


@contextlib.contextmanager
def atomic_path(path: str):
    """Yield a temporary path beside `path`; rename it to `path` only if the block succeeds."""
    root, ext = os.path.splitext(path)
    tmp = f"{root}.part-{uuid.uuid4().hex[:8]}{ext}"
    try:
        yield tmp
        if os.path.exists(path):
            remove_quietly(path)
        os.replace(tmp, path)
        if os.path.exists(tmp + ".aux.xml"):
            os.replace(tmp + ".aux.xml", path + ".aux.xml")
    finally:
        remove_quietly(tmp)
