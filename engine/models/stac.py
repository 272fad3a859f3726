"""A STAC Item with the Machine Learning Model extension (MLM) beside every model file training writes, so
catalogues (STAC browsers, pystac, stac-model) can find and describe it: name, architecture, task, framework,
input bands, shape and normalisation, output classes, and the weights as an asset."""

import datetime
import json
import os
import re

from ..core.atomic import atomic_path

MLM_SCHEMA = "https://stac-extensions.github.io/mlm/v1.6.0/schema.json"
FILE_SUFFIX = ".stac-item.json"
CLASS_DESCRIPTIONS = {"background": "Anything that is not a building", "building": "Building footprint (roof)"}


SCENE_Z_SCORE = ("each band standardised by the mean and standard deviation of the scene's own valid pixels "
                 "(BuildSeg engine.io.value_scale.scene_statistics)")


def item_path(model_path: str) -> str:
    return os.path.splitext(model_path)[0] + FILE_SUFFIX


def mlm_item(model_path: str, info, total_parameters: int = None) -> dict:
    """The STAC Item (a dict) describing the BuildSeg model file at `model_path` with header `info`."""
    import torch

    stem = os.path.splitext(os.path.basename(model_path))[0]
    names = info.band_names or [f"band{b}" for b in info.bands]
    footprints = (info.training or {}).get("footprint_wgs84") or []
    size = info.tile_size
    props = {
        "datetime": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "description": f"BuildSeg building segmentation model: {info.summary()}",
        "mlm:name": mlm_name(stem),
        "mlm:architecture": info.architecture + (f" {json.dumps(info.arch_params)}" if info.arch_params else ""),
        "mlm:tasks": ["semantic-segmentation"],
        "mlm:framework": "pytorch",
        "mlm:framework_version": torch.__version__.split("+")[0],
        "mlm:accelerator": None,
        "mlm:accelerator_constrained": False,
        "mlm:pretrained": bool((info.training or {}).get("fine_tuned_from") or (info.training or {}).get(
            "imported_from")),
        "mlm:input": [{
            "name": "image tile",
            "bands": names,
            "input": {"shape": [-1, info.in_channels, size, size], "dim_order": ["batch", "bands", "height", "width"],
                      "data_type": "float32"},
            "value_scaling": None if info.normalisation == "scene" else [
                {"type": "z-score", "mean": float(m), "stddev": float(s)} for m, s in zip(info.mean, info.std)],
            "resize_type": None,
            "pre_processing_function": {"format": "text", "expression": SCENE_Z_SCORE}
            if info.normalisation == "scene" else None,
        }],
        "mlm:output": [{
            "name": "class probabilities",
            "tasks": ["semantic-segmentation"],
            "result": {"shape": [-1, info.num_classes, size, size], "dim_order": ["batch", "channel", "height",
                                                                                 "width"],
                       "data_type": "float32"},
            "classification:classes": [{"value": i, "name": c["name"], "color_hint": _hex(c.get("color")),
                                        "description": CLASS_DESCRIPTIONS.get(c["name"], f"Class {c['name']}")}
                                       for i, c in enumerate(info.classes)],
            "post_processing_function": None,
        }],
    }
    if total_parameters is not None:
        props["mlm:total_parameters"] = int(total_parameters)
    if info.resolution:
        props["gsd"] = round(float(info.resolution), 6)  # not 0.3000000000000169
    geometry, bbox = _footprint(footprints)
    return {
        "type": "Feature", "stac_version": "1.1.0", "stac_extensions": [MLM_SCHEMA],
        "id": stem, "geometry": geometry, **({"bbox": bbox} if bbox else {}), "properties": props, "links": [],
        "assets": {"weights": {
            "href": "./" + os.path.basename(model_path), "title": f"{stem} (BuildSeg model file)",
            "type": "application/octet-stream; framework=pytorch; profile=safetensors",
            "roles": ["mlm:model", "mlm:weights"], "mlm:artifact_type": "safetensors",
        }},
    }


def mlm_name(stem: str) -> str:
    """The model's name as MLM's pattern allows (a letter first, letters, digits, `_.-` within, a letter or digit
    last, three characters at least): the file name, its other characters as '-', prefixed where needed."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-_.")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]+[A-Za-z0-9]", name or ""):
        name = re.sub(r"[^A-Za-z0-9]+$", "", f"buildseg-{name}")
    return name


def _footprint(boxes) -> tuple:
    """(GeoJSON geometry, bbox) in WGS84 of the training imagery's footprints ([west, south, east, north] each):
    a MultiPolygon of them; (None, None) without any (imported models, imagery without a CRS)."""
    if not boxes:
        return None, None
    rings = [[[[w, s], [e, s], [e, n], [w, n], [w, s]]] for w, s, e, n in boxes]
    bbox = [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]
    return {"type": "MultiPolygon", "coordinates": rings}, bbox


def _hex(color) -> str:
    text = (color or "#000000").lstrip("#")
    return (text[:6] if len(text) >= 6 else "000000").upper()


def write_item(model_path: str, info, model=None) -> str:
    """Write the item beside the model (atomically); returns its path."""
    total = sum(p.numel() for p in model.parameters()) if model is not None else None
    item = mlm_item(model_path, info, total)
    path = item_path(model_path)
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        json.dump(item, f, indent=2)
    return path
