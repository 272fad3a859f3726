"""A small thread-safe cache of loaded models (one QGIS process may run algorithms in parallel)."""

import threading
from collections import OrderedDict


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
