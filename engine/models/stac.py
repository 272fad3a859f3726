"""A STAC Item with the Machine Learning Model extension (MLM) beside every model file training writes, so
catalogues (STAC browsers, pystac, stac-model) can find and describe it: name, architecture, task, framework,
input bands, shape and normalisation, output classes, and the weights as an asset."""

import datetime
import json
import os

from ..core.atomic import atomic_path

MLM_SCHEMA = "https://stac-extensions.github.io/mlm/v1.6.0/schema.json"
EO_SCHEMA = "https://stac-extensions.github.io/eo/v1.1.0/schema.json"
FILE_SUFFIX = ".stac-item.json"


def item_path(model_path: str) -> str:
    return os.path.splitext(model_path)[0] + FILE_SUFFIX


def mlm_item(model_path: str, info, total_parameters: int = None) -> dict:
    """The STAC Item (a dict) describing the BuildSeg model file at `model_path` with header `info`."""
    import torch

    stem = os.path.splitext(os.path.basename(model_path))[0]
    names = info.band_names or [f"band{b}" for b in info.bands]
    size = info.tile_size
    props = {
        "datetime": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "description": f"BuildSeg building segmentation model: {info.summary()}",
        "mlm:name": stem,
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
            "value_scaling": [{"type": "z-score", "mean": float(m), "stddev": float(s)}
                              for m, s in zip(info.mean, info.std)],
            "resize_type": None,
            "pre_processing_function": None,
        }],
        "mlm:output": [{
            "name": "class probabilities",
            "tasks": ["semantic-segmentation"],
            "result": {"shape": [-1, info.num_classes, size, size], "dim_order": ["batch", "channel", "height",
                                                                                 "width"],
                       "data_type": "float32"},
            "classification:classes": [{"value": i, "name": c["name"], "color_hint": _hex(c.get("color"))}
                                       for i, c in enumerate(info.classes)],
            "post_processing_function": None,
        }],
        "eo:bands": [{"name": n} for n in names],
    }
    if total_parameters is not None:
        props["mlm:total_parameters"] = int(total_parameters)
    if info.resolution:
        props["gsd"] = float(info.resolution)
    return {
        "type": "Feature", "stac_version": "1.0.0", "stac_extensions": [MLM_SCHEMA, EO_SCHEMA],
        "id": stem, "geometry": None, "properties": props, "links": [],
        "assets": {"weights": {
            "href": "./" + os.path.basename(model_path), "title": f"{stem} (BuildSeg model file)",
            "type": "application/octet-stream; framework=pytorch; profile=safetensors",
            "roles": ["mlm:model", "mlm:weights"], "mlm:artifact_type": "safetensors",
        }},
    }


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
