"""A raster with its labels, as training and tile export read them."""

from dataclasses import dataclass, field

from .raster import RasterSource


@dataclass
class Scene:
    """One raster with its labels, its role in the train/validation split and the scale it is read at."""

    raster: str
    labels: object  # PolygonLabels or RasterLabels
    role: str = "train"  # train | val | both (split by held-out blocks) | area (split by a validation area)
    holdout: object = None  # role both: the HeldOut blocks of its labelled part that validation scores on
    extent: tuple = None  # (row0, row1, col0, col1): the labelled part of the raster, in pixels
    val_labels: object = None  # labels for validation windows (role == area)
    scale: float = 1.0  # raster pixels per model pixel: windows are read at the model's ground resolution
    tile: int = None  # model pixels a training or validation window spans (set by the training run)
    ground_m: float = None  # the raster's ground resolution in metres (set by the training run)
    src: RasterSource = field(default=None, repr=False, compare=False)  # open() opens it

    def open(self):
        self.src = RasterSource(self.raster)
        return self
