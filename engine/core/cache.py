"""The cache folder, files' content hashes, and a small thread-safe cache of loaded models (one QGIS process may
run algorithms in parallel)."""

import hashlib
import os
import threading
from collections import OrderedDict


def cache_dir() -> str:
    """BuildSeg's cache folder (ONNX exports, downloaded weights): $BUILDSEG_CACHE, else ~/.cache/buildseg."""
    path = os.environ.get("BUILDSEG_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "buildseg")
    os.makedirs(path, exist_ok=True)
    return path


def file_sha256(path: str) -> str:
    """The SHA-256 of a file's content, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(2**20), b""):
            h.update(chunk)
    return h.hexdigest()


class PerFileVersion:
    """`compute(path)` remembered per version of the file (its path, size and modification time): computed again
    only when the file changes; at most `size` versions are kept."""

    def __init__(self, compute, size: int = 64):
        self.compute, self.size = compute, size
        self.values = {}
        self.lock = threading.Lock()

    def __call__(self, path: str):
        stat = os.stat(path)
        key = (os.path.abspath(path), stat.st_size, stat.st_mtime_ns)
        with self.lock:
            if key in self.values:
                return self.values[key]
        value = self.compute(path)
        with self.lock:
            if len(self.values) >= self.size:
                self.values.clear()
            self.values[key] = value
        return value


# file_sha256 of a model file, per version: an extraction, its fit check and every raster of a batch name the model
model_sha256 = PerFileVersion(file_sha256)


class ModelCache:
    def __init__(self, size: int = 2):
        self.size = size
        self.items = OrderedDict()
        self.lock = threading.Lock()
        self.loads = 0  # how many times a model was actually loaded (a batch of rasters loads it once)

    def get(self, key, load):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
            value = load()
            self.loads += 1
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
            return value
