"""Write outputs atomically: a temporary name in the destination folder, renamed at the end."""

import contextlib
import math
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
    if not writable(folder):
        raise BuildSegError(f"The output folder {folder} is not writable: choose another folder.")


def writable(folder: str) -> bool:
    """Whether a file can be created in `folder`: a real probe (os.access says yes to root on a read-only file
    system or /proc)."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".buildseg-probe-"):
            return True
    except OSError:
        return False


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


class DiskFull(BuildSegError):
    pass


LOW_SPACE = 1 << 20  # bytes: with less left after writing (or after a failed write), the disk counts as full
RASTER_EXTS = (".tif", ".tiff")
VECTOR_EXTS = (".gpkg", ".shp", ".geojson", ".fgb")


def free_bytes(folder: str) -> int:
    st = os.statvfs(folder)
    return st.f_bavail * st.f_frsize


def disk_full_error(path: str) -> DiskFull:
    """The error for a full disk while writing `path` (a staged temporary name is shown as its output's)."""
    import re

    folder = os.path.dirname(os.path.abspath(path))
    name = re.sub(r"\.part-\d+-[0-9a-f]+", "", os.path.basename(path))
    return DiskFull(f"The disk is full (no space left in {folder}) while writing {name}: "
                    "nothing was written. Free some space or choose another folder, and run again.")


def check_space(path: str, needed: int) -> None:
    """Refuse up front an output that cannot fit: about `needed` bytes against the free space of its folder."""
    folder = os.path.dirname(os.path.abspath(path)) or "."
    free = free_bytes(folder)
    if needed > free:
        raise DiskFull(f"Not enough disk space: {os.path.basename(path)} needs about {needed / 2**20:.0f} MB but "
                       f"{folder} has {free / 2**20:.0f} MB free. Free some space or choose another folder.")


def verify_written(tmp: str, path: str, read_back: bool = True) -> None:
    """Check a written raster or vector file: GDAL and OGR report write errors (a full disk) only as log lines,
    so a broken file would otherwise pass as a success. GeoTIFFs by their block index (every block stored whole),
    other files read back whole."""
    ext = os.path.splitext(tmp)[1].lower()
    if free_bytes(os.path.dirname(os.path.abspath(tmp))) < LOW_SPACE:  # writers that fail silently (OGR's
        raise disk_full_error(path)  # Shapefile driver truncates without an error) leave the disk full
    if not read_back:
        return
    try:
        if ext in RASTER_EXTS:
            if not _tiff_blocks_stored(tmp):
                _read_raster(tmp)
        elif ext in VECTOR_EXTS:
            _read_vector(tmp)
    except Exception as exc:
        if free_bytes(os.path.dirname(os.path.abspath(tmp))) < LOW_SPACE:
            raise disk_full_error(path) from None
        raise BuildSegError(f"{os.path.basename(path)} could not be written completely ({exc}).") from None


def _read_raster(path: str) -> None:
    import rasterio

    with rasterio.open(path) as ds:
        for _, window in ds.block_windows(1):
            ds.read(window=window)


def _tiff_blocks_stored(path: str) -> bool:
    """For a tiled or striped GeoTIFF: True when every block of every band is stored whole within the file (its
    offset and size, from the TIFF's index, inside the file's bytes); raises OSError naming the first that is
    not (a write cut short by a full disk). False for other formats (read back whole instead). The index is
    enough: GDAL writes every block of a GeoTIFF (no sparse blocks unless asked), so no pixel is decompressed."""
    from osgeo import gdal

    ds = gdal.Open(path)
    if ds is None:
        raise OSError("the file does not open as a raster: " + gdal.GetLastErrorMsg())
    if ds.GetDriver().ShortName != "GTiff":
        return False
    size = os.path.getsize(path)
    pixel_interleaved = ds.RasterCount == 1 or ds.GetMetadataItem("INTERLEAVE", "IMAGE_STRUCTURE") == "PIXEL"
    for b in range(1, 2 if pixel_interleaved else ds.RasterCount + 1):
        band = ds.GetRasterBand(b)
        bx, by = band.GetBlockSize()
        for y in range(math.ceil(ds.RasterYSize / by)):
            for x in range(math.ceil(ds.RasterXSize / bx)):
                offset = int(band.GetMetadataItem(f"BLOCK_OFFSET_{x}_{y}", "TIFF") or 0)
                length = int(band.GetMetadataItem(f"BLOCK_SIZE_{x}_{y}", "TIFF") or 0)
                if not offset or not length or offset + length > size:
                    raise OSError(f"block {x},{y} of band {b} is missing or cut short")
    return True


def _read_vector(path: str) -> None:
    from osgeo import gdal, ogr

    gdal.ErrorReset()
    ds = ogr.Open(path)
    if ds is None or ds.GetLayerCount() == 0:
        raise OSError("the file does not open as a vector dataset")
    for i in range(ds.GetLayerCount()):
        for _ in ds.GetLayer(i):
            pass
    if gdal.GetLastErrorType() >= gdal.CE_Failure:
        raise OSError(gdal.GetLastErrorMsg())


def _is_disk_full(exc: Exception, tmp: str) -> bool:
    import errno

    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if isinstance(exc, BuildSegError):
        return False
    try:
        return free_bytes(os.path.dirname(os.path.abspath(tmp))) < LOW_SPACE
    except OSError:
        return False


class _Staged:
    """One output written under a temporary name beside its destination, until committed."""

    def __init__(self, path: str, read_back: bool = True):
        root, ext = os.path.splitext(path)
        remove_stale_parts(path)
        self.path, self.tmp = path, f"{root}.part-{os.getpid()}-{uuid.uuid4().hex[:8]}{ext}"
        self.read_back = read_back
        with _LOCK:
            _IN_PROGRESS.add(self.tmp)

    def verify(self) -> None:
        if os.path.exists(self.tmp):
            verify_written(self.tmp, self.path, self.read_back)

    def commit(self) -> None:
        path, tmp = self.path, self.tmp
        if os.path.exists(path):
            remove_quietly(path)
        for part, final in zip(companions(tmp), companions(path)):  # a Shapefile is committed whole
            if os.path.exists(part):
                os.replace(part, final)
        os.replace(tmp, path)
        if os.path.exists(tmp + ".aux.xml"):
            os.replace(tmp + ".aux.xml", path + ".aux.xml")

    def discard(self) -> None:
        remove_quietly(self.tmp)
        with _LOCK:
            _IN_PROGRESS.discard(self.tmp)


@contextlib.contextmanager
def atomic_paths(*paths, read_back: bool = True):
    """Yield temporary paths (None for a None path) for outputs that appear together or not at all: renamed
    only if the block succeeds and every file reads back (a full disk becomes DiskFull, never a broken
    output)."""
    staged = [_Staged(p, read_back) if p else None for p in paths]
    live = [s for s in staged if s]
    try:
        try:
            yield [s.tmp if s else None for s in staged]
        except Exception as exc:
            full = next((s for s in live if _is_disk_full(exc, s.tmp)), None)
            if full:
                raise disk_full_error(full.path) from None
            raise
        for s in live:
            s.verify()
        for s in live:
            s.commit()
    finally:
        for s in live:
            s.discard()


@contextlib.contextmanager
def atomic_path(path: str, read_back: bool = True):
    """Yield a temporary path beside `path`; rename it to `path` only if the block succeeds (see atomic_paths).
    `read_back=False` for writers that report their own errors and still hold the file (QGIS sinks)."""
    with atomic_paths(path, read_back=read_back) as (tmp,):
        yield tmp


@contextlib.contextmanager
def atomic_dir(path: str):
    """Yield a temporary folder beside `path` (which must be missing or empty), renamed to `path` at the end:
    a folder of outputs appears complete or not at all."""
    import shutil

    if os.path.isdir(path) and os.listdir(path):
        raise BuildSegError(f"The output folder {path} already holds files: choose a new or empty folder (writing "
                            "into it again would mix two runs).")
    staging = f"{path.rstrip(os.sep)}.part-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    os.makedirs(staging)
    with _LOCK:
        _IN_PROGRESS.add(staging)
    try:
        try:
            yield staging
        except Exception as exc:
            if _is_disk_full(exc, os.path.join(staging, "x")):
                raise disk_full_error(path) from None
            raise
        if os.path.isdir(path):
            os.rmdir(path)
        os.replace(staging, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        with _LOCK:
            _IN_PROGRESS.discard(staging)
