"""Every model file training writes gets a STAC Item with the Machine Learning Model extension beside it,
validated with stac-model (the MLM extension's own pydantic implementation of its schema), against the STAC
core Item JSON Schema that pystac ships (offline), and against the extension rules found by a JSON-schema
validation of BuildSeg's items (issue 46: classes without descriptions, eo:bands in properties, names from short
file names, gsd 0.3000000000000169, no geometry)."""

import json
import os
import re

import pytest

from conftest import dubai, dubai_labels

stac_model = pytest.importorskip("stac_model.schema")
pystac = pytest.importorskip("pystac")


def _validate(item: dict, model_path: str):
    from buildseg.engine.models import modelfile

    info = modelfile.read_info(model_path)
    assert stac_model.SCHEMA_URI in item["stac_extensions"]
    props = stac_model.MLModelProperties.model_validate(
        {k: v for k, v in item["properties"].items() if k.startswith("mlm:")})
    assert re.fullmatch(r"[a-zA-Z][a-zA-Z0-9_.-]+[a-zA-Z0-9]", props.name)  # MLM's name pattern
    assert os.path.splitext(os.path.basename(model_path))[0] in props.name
    assert [t.value if hasattr(t, "value") else t for t in props.tasks] == ["semantic-segmentation"]
    (inp,), (out,) = props.input, props.output
    assert inp.input.shape == [-1, info.in_channels, info.tile_size, info.tile_size]
    assert [s.mean for s in inp.value_scaling] == pytest.approx(info.mean)
    assert [s.stddev for s in inp.value_scaling] == pytest.approx(info.std)
    assert [c.name for c in out.classes] == [c["name"] for c in info.classes]
    classes = item["properties"]["mlm:output"][0]["classification:classes"]
    assert all(c["description"] and re.fullmatch("[0-9A-F]{6}", c["color_hint"]) for c in classes)
    assert not any(k.startswith("eo:") for k in item["properties"])  # EO v1.1: bands belong to assets
    _validate_core(item)
    assert props.total_parameters > 1000
    parsed = pystac.Item.from_dict(item)
    href = parsed.assets["weights"].href
    assert os.path.samefile(os.path.join(os.path.dirname(model_path), href), model_path)
    assert item["properties"]["gsd"] == round(info.resolution, 6)


def _validate_core(item: dict) -> None:
    """JSON Schema validation of the STAC Item against the core schemas pystac ships (offline)."""
    from jsonschema import Draft7Validator
    from pystac.validation.local_validator import get_local_schema_cache
    from referencing import Registry, Resource

    cache = get_local_schema_cache()
    uri = next(u for u in cache if u.endswith("item-spec/json-schema/item.json"))
    assert uri.split("/")[3] == "v" + item["stac_version"]  # the version pystac ships the schemas of
    registry = Registry().with_resources((u, Resource.from_contents(s)) for u, s in cache.items())
    errors = [e.message for e in Draft7Validator(cache[uri], registry=registry).iter_errors(item)]
    assert not errors, errors


def test_mlm_names_follow_the_pattern():
    from buildseg.engine.models.stac import mlm_name

    for stem, want in [("tg", "buildseg-tg"), ("dubai", "dubai"), ("my model (v2)", "my-model-v2"),
                       ("2024_city", "buildseg-2024_city"), ("x_", "buildseg-x"), ("", "buildseg")]:
        assert mlm_name(stem) == want
        assert re.fullmatch(r"[a-zA-Z][a-zA-Z0-9_.-]+[a-zA-Z0-9]", mlm_name(stem))


def test_trained_model_gets_a_valid_mlm_item(run_alg, tmp_path):
    res = run_alg("buildseg:trainmodel", {
        "INPUT": [dubai("tile1_part1")], "LABELS": dubai_labels("tile1_part1"), "ARCHITECTURE": 2,
        "ALIGN_LABELS": False, "FROM_SCRATCH": True, "TILE_SIZE": 64, "EPOCHS": 1,
        "TILES_PER_EPOCH": 8, "BATCH_SIZE": 4,
        "OUTPUT_MODEL": str(tmp_path / "dubai.safetensors")})
    assert res["STAC_ITEM"] == str(tmp_path / "dubai.stac-item.json")
    item = json.loads((tmp_path / "dubai.stac-item.json").read_text())
    _validate(item, res["OUTPUT_MODEL"])
    west, south, east, north = item["bbox"]  # the training imagery's footprint, in WGS84: Dubai
    assert 55.0 < west < east < 55.6 and 24.9 < south < north < 25.4, item["bbox"]
    assert item["geometry"]["type"] == "MultiPolygon"
    assert item["properties"]["mlm:architecture"].startswith("unet-mobilenet")
