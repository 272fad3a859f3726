"""Write outputs atomically: a temporary name in the destination folder, renamed at the end."""

import contextlib
import os
import re
import signal
import tempfile
import threading
import uuid

from .errors import BuildSegError

# sidecars GDAL/OGR may write next to a file
_SIDECARS = (".aux.xml", "-journal", "-wal", "-shm", ".ovr")
# the other files of multi-file formats, which share the main file's name with another extension
_COMPANIONS = {".shp": (".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".qmd"),
               ".tab": (".dat", ".map", ".id", ".ind")}


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


def companions(path: str) -> list:
    """The files a multi-file format writes beside `path` (Shapefile: .shx, .dbf, .prj…)."""
    root, ext = os.path.splitext(path)
    return [root + c for c in _COMPANIONS.get(ext.lower(), ())]


def remove_quietly(path: str) -> None:
    for p in (path,) + tuple(path + s for s in _SIDECARS) + tuple(companions(path)):
        with contextlib.suppress(OSError):
            os.remove(p)


_IN_PROGRESS = set()  # temporary paths being written by this process
_LOCK = threading.Lock()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def remove_stale_parts(path: str) -> list:
    """Remove the temporary files a killed run left for `path` (with their sidecars and Shapefile companions),
    when the process that wrote them is gone."""
    folder, stem = os.path.split(os.path.splitext(os.path.abspath(path))[0])
    pattern = re.compile(re.escape(stem) + r"\.part-(\d+)-[0-9a-f]{8}[.-]")
    removed = []
    with contextlib.suppress(OSError):
        for name in os.listdir(folder):
            m = pattern.match(name)
            if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
                with contextlib.suppress(OSError):
                    os.remove(os.path.join(folder, name))
                    removed.append(name)
    return removed


def remove_in_progress() -> None:
    """Remove every temporary output and work folder of this process (on SIGTERM / SIGINT)."""
    import shutil

    with _LOCK:
        for tmp in list(_IN_PROGRESS):
            if os.path.isdir(tmp):
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                remove_quietly(tmp)
        _IN_PROGRESS.clear()


@contextlib.contextmanager
def work_dir(prefix: str = "buildseg-"):
    """A temporary work folder named with this process id, removed at the end, on a signal (headless), or by
    the next run when this process was killed."""
    import shutil

    remove_stale_work_dirs()
    path = tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-")
    with _LOCK:
        _IN_PROGRESS.add(path)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        with _LOCK:
            _IN_PROGRESS.discard(path)


def remove_stale_work_dirs() -> list:
    """Remove the work folders of BuildSeg processes that no longer run."""
    import shutil

    removed = []
    base = tempfile.gettempdir()
    with contextlib.suppress(OSError):
        for name in os.listdir(base):
            m = re.match(r"buildseg-(?:[a-z]+-)?(\d+)-", name)
            if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
                shutil.rmtree(os.path.join(base, name), ignore_errors=True)
                removed.append(name)
    return removed


def install_signal_cleanup() -> bool:
    """On SIGTERM and SIGINT remove partial outputs, then end as the signal would. Only from the main thread
    of a headless process (qgis_process, scripts): never in the QGIS desktop."""
    if threading.current_thread() is not threading.main_thread():
        return False

    def handler(signum, frame):
        remove_in_progress()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)
    return True


@contextlib.contextmanager
def atomic_path(path: str):
    """Yield a temporary path beside `path`; rename it to `path` only if the block succeeds."""
    root, ext = os.path.splitext(path)
    remove_stale_parts(path)
    tmp = f"{root}.part-{os.getpid()}-{uuid.uuid4().hex[:8]}{ext}"
    with _LOCK:
        _IN_PROGRESS.add(tmp)
    try:
        yield tmp
        if os.path.exists(path):
            remove_quietly(path)
        for part, final in zip(companions(tmp), companions(path)):  # a Shapefile is committed whole
            if os.path.exists(part):
                os.replace(part, final)
        os.replace(tmp, path)
        if os.path.exists(tmp + ".aux.xml"):
            os.replace(tmp + ".aux.xml", path + ".aux.xml")
    finally:
        remove_quietly(tmp)
        with _LOCK:
            _IN_PROGRESS.discard(tmp)
