"""Training's domain choices: the classes a model learns (from a class field's values or a mask palette, with
their colours) and whether a run fine-tunes the default model or starts from scratch."""

from ..core.errors import BuildSegError
from ..models.modelfile import DEFAULT_CLASSES

COLOURS = ["#00000000", "#e31a1c", "#1f78b4", "#33a02c", "#a6cee3", "#ff7f00", "#6a3d9a", "#b15928"]


def from_values(values) -> tuple:
    """({value: class id}, classes) for the distinct values of a class field; id 0 is the background."""
    values = sorted({v for v in values if v is not None}, key=str)
    if not values:
        raise BuildSegError("The class field is empty in every feature: fill it, or leave the class field empty "
                            "to train buildings alone.")
    classes = [dict(DEFAULT_CLASSES[0])] + [{"id": i + 1, "name": str(v), "color": COLOURS[(i + 1) % len(COLOURS)]}
                                            for i, v in enumerate(values)]
    return {v: i + 1 for i, v in enumerate(values)}, classes


def buildings_only() -> list:
    return [dict(c) for c in DEFAULT_CLASSES]


def from_palette(palette) -> list:
    """Classes 0..max id of a mask palette ({colour: id}; 0 background, 1 building), or background/building."""
    ids = sorted(set(palette.values())) if palette else [0, 1]
    return [{"id": i, "name": "background" if i == 0 else ("building" if i == 1 else f"class {i}"),
             "color": COLOURS[i % len(COLOURS)]} for i in range(max(ids) + 1)]


def fine_tunes(default_info, architecture: str, bands: int, classes: list) -> bool:
    """Whether a run of `architecture` on `bands` bands with `classes` can start from the default model."""
    return (default_info.architecture, default_info.in_channels, default_info.num_classes) == \
        (architecture, bands, len(classes))
