"""A small thread-safe cache of loaded models (one QGIS process may run algorithms in parallel)."""

import threading
from collections import OrderedDict


class ModelCache:
    def __init__(self, size: int = 2):
        self.size = size
        self.items = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key, load):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
            value = load()
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
            return value
