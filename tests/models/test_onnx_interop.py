"""ONNX both ways: the Deepness/GeoDeep export read back as those tools read it, and Deepness-style models
run by BuildSeg's extraction, on a real Austin tile with the default model."""

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import rasterio

from conftest import DATA, DEFAULT_MODEL, crop

AUSTIN = DATA / "cities" / "austin" / "image.tif"


@pytest.fixture(scope="module")
def deepness_onnx(tmp_path_factory, qgis_app):
    import processing

    out = str(tmp_path_factory.mktemp("onnx") / "buildings-deepness.onnx")
    processing.run("buildseg:exportonnx", {"MODEL": DEFAULT_MODEL, "PROFILE": 1, "OUTPUT": out})
    return out


@pytest.fixture(scope="module")
def austin_tile(tmp_path_factory):
    """One model tile (256 px at the model's 0.3 m) of a city the default model never saw."""
    return crop(str(AUSTIN), str(tmp_path_factory.mktemp("austin") / "tile.tif"), 128, 512, 256, 256)


def _mask(path):
    with rasterio.open(path) as m:
        return m.read(1)


def test_deepness_profile_reads_back_as_deepness_reads_it(deepness_onnx, austin_tile, tmp_path):
    from buildseg.engine.extract.inference import ExtractParams, extract

    sess = ort.InferenceSession(deepness_onnx, providers=["CPUExecutionProvider"])
    meta = {k: json.loads(v) for k, v in sess.get_modelmeta().custom_metadata_map.items()}
    assert str(meta["model_type"]).capitalize() == "Segmentor"
    assert meta["class_names"] == {"0": "background", "1": "building"} and meta["resolution"] == pytest.approx(30)
    assert meta["tiles_size"] == 256 and 0 < meta["tiles_overlap"] < 50 and meta["seg_thresh"] == 0.5
    inp = sess.get_inputs()[0]
    assert inp.shape[1:] == [3, 256, 256] and not isinstance(inp.shape[0], int)  # dynamic batch
    out = sess.get_outputs()[0]  # static spatial sizes (the tracer named the height like the batch)
    assert out.shape[1:] == [2, 256, 256] and out.shape[0] == inp.shape[0]
    with rasterio.open(austin_tile) as src:
        rgb = src.read()
    x = (rgb.astype(np.float32) / 255.0)[None]  # Deepness: uint8 tile / 255, NCHW
    prob = sess.run(None, {inp.name: np.concatenate([x, x])})[0]
    assert prob.shape == (2, 2, 256, 256) and np.allclose(prob.sum(1), 1, atol=1e-4)
    extract(austin_tile, DEFAULT_MODEL, out_mask=str(tmp_path / "own.tif"), params=ExtractParams(backend="torch"))
    own = _mask(tmp_path / "own.tif") == 1
    theirs = prob[0, 1] > 0.5
    assert own.mean() > 0.1  # the tile holds buildings
    assert (own == theirs).mean() > 0.995


@pytest.mark.parametrize("with_header", [True, False], ids=["buildseg-header", "deepness-keys-only"])
def test_deepness_style_model_runs_through_extraction(run_alg, deepness_onnx, austin_tile, tmp_path, with_header):
    model = deepness_onnx
    if not with_header:  # a model from the Deepness zoo carries only their keys
        proto = onnx.load(deepness_onnx)
        keep = [(p.key, p.value) for p in proto.metadata_props if p.key != "buildseg"]
        del proto.metadata_props[:]
        for k, v in keep:
            entry = proto.metadata_props.add()
            entry.key, entry.value = k, v
        model = str(tmp_path / "zoo.onnx")
        onnx.save(proto, model)
    from buildseg.engine.models import modelfile

    info = modelfile.read_info(model)
    assert (info.architecture, info.in_channels, info.resolution, info.tile_size) == ("onnx", 3, pytest.approx(0.3),
                                                                                      256)
    assert info.std == [255.0] * 3 and [c["name"] for c in info.classes] == ["background", "building"]
    base = {"INPUT": austin_tile, "OUTPUT_POLYGONS": "TEMPORARY_OUTPUT"}
    onnx_run = run_alg("buildseg:extractbuildings", {**base, "MODEL": model, "OUTPUT_MASK": str(tmp_path / "o.tif")})
    own_run = run_alg("buildseg:extractbuildings", {**base, "MODEL": DEFAULT_MODEL,
                                                     "OUTPUT_MASK": str(tmp_path / "s.tif")})
    a, b = _mask(onnx_run["OUTPUT_MASK"]), _mask(own_run["OUTPUT_MASK"])
    assert (a == 1).mean() > 0.1 and (a == b).mean() > 0.995
    assert abs(onnx_run["BUILDING_COUNT"] - own_run["BUILDING_COUNT"]) <= 1


def test_onnx_model_refuses_what_needs_weights(deepness_onnx, austin_tile, tmp_path):
    from buildseg.engine.core.errors import BuildSegError
    from buildseg.engine.extract.inference import ExtractParams, extract
    from buildseg.engine.models import modelfile

    with pytest.raises(BuildSegError, match="ONNX model.*safetensors"):
        modelfile.load(deepness_onnx)
    with pytest.raises(BuildSegError, match="takes tiles of 256 px"):
        extract(austin_tile, deepness_onnx, out_mask=str(tmp_path / "m.tif"), params=ExtractParams(tile_size=512))
    assert not (tmp_path / "m.tif").exists()


@pytest.mark.parametrize("names", ['[{"0": "background"}, {"1": "buildings"}]', '{"0": "background", "1": "buildings"}',
                                   '["background", "buildings"]'])
def test_deepness_class_names_in_every_form_are_read(names):
    """Deepness writes class_names as a dict or as a list of one-entry dicts; both (and a plain list) name the
    classes, in order."""
    from buildseg.engine.models import onnx_interop

    info = onnx_interop._foreign_info({"class_names": names}, 3, [1, 3, 256, 256])
    assert [c["name"] for c in info.classes] == ["background", "buildings"]
    assert "classes background, building" not in info.training["assumed"]


def test_a_building_class_of_another_name_is_chosen_with_target_class(run_alg, deepness_onnx, austin_tile, tmp_path):
    """The default model exported for Deepness with its classes renamed (background, buildings): refused with the
    classes named and the way to choose one; TARGET_CLASS=buildings extracts what the model's own name gives."""
    from qgis.core import QgsProcessingException

    proto = onnx.load(deepness_onnx)
    for prop in proto.metadata_props:
        if prop.key == "class_names":
            prop.value = json.dumps([{"0": "background"}, {"1": "buildings"}])
    renamed = [p for p in proto.metadata_props if p.key != "buildseg"]  # a foreign model: Deepness keys only
    del proto.metadata_props[:]
    proto.metadata_props.extend(renamed)
    path = str(tmp_path / "renamed.onnx")
    onnx.save(proto, path)
    base = {"INPUT": austin_tile, "MODEL": path, "CHECK_FIT": False}
    with pytest.raises(QgsProcessingException, match="TARGET_CLASS"):
        run_alg("buildseg:extractbuildings", {**base, "OUTPUT_MASK": str(tmp_path / "a.tif")})
    chosen = run_alg("buildseg:extractbuildings", {**base, "TARGET_CLASS": "buildings",
                                                   "OUTPUT_MASK": str(tmp_path / "b.tif")})
    same = run_alg("buildseg:extractbuildings", {**base, "MODEL": deepness_onnx,
                                                 "OUTPUT_MASK": str(tmp_path / "c.tif")})
    assert (_mask(chosen["OUTPUT_MASK"]) == 1).sum() > 100
    assert (_mask(chosen["OUTPUT_MASK"]) == _mask(same["OUTPUT_MASK"])).mean() > 0.99


def test_onnx_header_is_read_once_per_version_of_the_file(deepness_onnx, tmp_path, monkeypatch):
    """An extraction and its fit check read the model's header several times: ONNX Runtime opens the file once,
    and again only when the file changes (here rewritten with another resolution)."""
    import shutil

    from buildseg.engine.models import onnx_interop

    path = str(tmp_path / "model.onnx")
    shutil.copy(deepness_onnx, path)
    opened = []
    session = ort.InferenceSession
    monkeypatch.setattr(ort, "InferenceSession", lambda *a, **k: opened.append(a[0]) or session(*a, **k))
    first, again = onnx_interop.read_info(path), onnx_interop.read_info(path)
    assert len(opened) == 1 and first.to_json() == again.to_json() and first.resolution == pytest.approx(0.3)
    model = onnx.load(path)
    own = next(p for p in model.metadata_props if p.key == "buildseg")
    own.value = json.dumps({**json.loads(own.value), "resolution": 0.5})
    onnx.save(model, path)
    assert onnx_interop.read_info(path).resolution == pytest.approx(0.5) and len(opened) == 2
