"""What a model file says of itself: architecture, bands, normalisation, classes, tile size, resolution,
training and metrics (the header of BuildSeg's model files, and what an ONNX file is read as)."""

import json
from dataclasses import asdict, dataclass, field

from ..core.errors import BuildSegError

FORMAT = "buildseg-model"
FORMAT_VERSION = 1
DEFAULT_CLASSES = [
    {"id": 0, "name": "background", "color": "#00000000"},
    {"id": 1, "name": "building", "color": "#e31a1c"},
]


@dataclass
class ModelInfo:
    architecture: str
    in_channels: int
    classes: list = field(default_factory=lambda: [dict(c) for c in DEFAULT_CLASSES])
    arch_params: dict = field(default_factory=dict)
    bands: list = None  # 1-based raster bands fed to the model, in order
    band_names: list = None
    mean: list = None  # per-band normalisation, in raw raster units
    std: list = None
    normalisation: str = "model"  # "model": mean and std above; "scene": each scene's own band statistics
    # (io.value_scale.scene_statistics), mean and std then 0 and 1
    tile_size: int = 512
    resolution: float = None  # ground metres per pixel the model was trained at
    training: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def __post_init__(self):
        if self.bands is None:
            self.bands = list(range(1, self.in_channels + 1))
        if self.mean is None:
            self.mean = [0.0] * self.in_channels
        if self.std is None:
            self.std = [1.0] * self.in_channels

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def class_index(self, name_or_id) -> int:
        for i, c in enumerate(self.classes):
            if str(c["name"]) == str(name_or_id) or str(c["id"]) == str(name_or_id):
                return i
        raise BuildSegError(f"The model has no class '{name_or_id}'; its classes are "
                            + ", ".join(c["name"] for c in self.classes) + ": choose the one to extract (TARGET_CLASS, "
                            "by name or id).")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> "ModelInfo":
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    def summary(self) -> str:
        names = ", ".join(c["name"] for c in self.classes)
        res = f"{self.resolution:g} m" if self.resolution else "unknown resolution"
        scene = " | each scene standardised by its own band statistics" if self.normalisation == "scene" else ""
        return (f"{self.architecture} {self.arch_params or ''} | bands {self.bands} | classes: {names} | "
                f"tile {self.tile_size} px | {res}{scene}")
