"""The bundled model: present, small, self-describing, and it outlines buildings one by one on imagery it never
trained on, through the extraction algorithm."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import rasterio

from conftest import DATA, DEFAULT_MODEL, DUBAI, ROOT, dubai

CITIES = DATA / "cities"


def test_bundled_model_is_small_and_self_describing():
    from buildseg.engine.models import modelfile

    assert os.path.getsize(DEFAULT_MODEL) <= 25 * 2**20
    info = modelfile.read_info(DEFAULT_MODEL)
    assert info.architecture == "unet-efficientnet-lite0" and info.in_channels == 3 and info.bands == [1, 2, 3]
    assert 0.2 <= info.resolution <= 0.5 and info.tile_size >= 128
    assert [c["name"] for c in info.classes] == ["background", "building"]
    t = info.training
    assert t["epochs_run"] > 0 and t["seconds"] > 0 and t["encoder_init"] == "imagenet"
    assert t["params"]["arch_params"] == {} and t["licences"] and t["data"]
    assert not any("austin" in r for r in t["rasters"])  # evaluation only (Inria terms)
    test = info.metrics["test"]
    assert set(test["per_place"]) >= {"austin", "kampala", "banepa-fair"}
    assert test["mean_building_iou"] > 0 and "dubai_tile8_mean_building_iou" in test
    # its description leads with the cities it never trained on, then the easier held-out cells; no fit verdict
    # of an ImageNet start (that belongs to fine-tunes)
    lines = modelfile.details(info).splitlines()
    unseen = [p["building_iou"] for p in test["per_place"].values() if p["evaluated_on"] == "unseen city"]
    cities = next(i for i, line in enumerate(lines) if line.startswith("Building IoU on cities it never trained on"))
    assert f"{sum(unseen) / len(unseen):.3f} (mean of {len(unseen)})" in lines[cities]
    assert lines[cities + 1].startswith("Building IoU on held-out cells")
    assert not any("fit before training" in line for line in lines)
    model, _ = modelfile.load(DEFAULT_MODEL)
    assert not model.training


def _test_cells(place: str, crs_wkt: str) -> list:
    """The test cells of a training place (never trained on), in the image's CRS."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import tempfile

    from accuracy import reproject, test_areas

    return reproject(test_areas(tempfile.mkdtemp())[place], "EPSG:4326", crs_wkt)


def test_touching_buildings_come_out_as_separate_polygons(run_alg, tmp_path):
    """Banepa's test cells (never trained on): of the reference buildings that touch another one, most are
    matched one to one by their own polygon (IoU >= 0.5), not swallowed into a block with their neighbour."""
    from osgeo import ogr

    from buildseg.engine.evaluation.evaluate import polygons_from_file
    from buildseg.engine.evaluation.matching import match

    image = str(CITIES / "banepa-fair" / "image.tif")
    with rasterio.open(image) as src:
        crs = src.crs.to_wkt()
    cells = [ogr.CreateGeometryFromJson(json.dumps(g)) for g in _test_cells("banepa-fair", crs)]
    ref = [ogr.CreateGeometryFromJson(json.dumps(g)) for g, _ in
           polygons_from_file(str(CITIES / "banepa-fair" / "buildings.gpkg"), crs)]
    ref = [g for g in ref if any(c.Contains(g) for c in cells)]
    touching = [i for i, g in enumerate(ref) if any(j != i and g.Distance(h) < 0.3 for j, h in enumerate(ref))]
    assert len(touching) >= 20  # a dense old town: many houses wall to wall
    res = run_alg("buildseg:extractbuildings", {"INPUT": image, "OUTPUT_POLYGONS": str(tmp_path / "b.gpkg")})
    pred = [ogr.CreateGeometryFromJson(json.dumps(g)) for g, _ in polygons_from_file(res["OUTPUT_POLYGONS"], crs)]
    pred = [g for g in pred if any(c.Intersects(g) for c in cells)]
    matched = {j for _, j, _ in match(pred, [ref[i] for i in touching]).matches}
    assert len(matched) / len(touching) >= 0.3, (len(matched), len(touching))
    blocks = [g for g in pred if sum(g.Intersection(ref[i]).GetArea() > 0.5 * ref[i].GetArea() for i in touching) > 3]
    assert len(blocks) <= 0.1 * len(touching)  # few polygons cover several touching houses


def test_bundled_model_on_dubai_test_images(run_alg, tmp_path):
    """Dubai Tile 8 (block-level labels, 1 m nominal): building IoU through buildseg:extractbuildings, on one of
    its images (each is upsampled 3.3x to the model's 0.3 m: about 40 s; benchmarks/accuracy.py measures all nine)."""
    inter = union = 0
    for name in ("tile8_part3",):
        res = run_alg("buildseg:extractbuildings", {"INPUT": dubai(name), "OUTPUT_MASK": str(tmp_path / f"{name}.tif")})
        with rasterio.open(res["OUTPUT_MASK"]) as m, rasterio.open(DUBAI / f"{name}_classes.tif") as ref:
            pred, cls = m.read(1) == 1, ref.read(1)
        labelled = cls != 0
        truth = cls == 1
        inter += (pred & truth & labelled).sum()
        union += ((pred | truth) & labelled).sum()
    assert inter / union >= DUBAI_FLOOR, inter / union


DUBAI_FLOOR = 0.2  # measured about 0.3 (README): Dubai labels outline blocks, this model outlines houses


@pytest.mark.skipif(not os.path.exists("/usr/bin/python3"), reason="needs Debian's python3 with GDAL")
def test_default_model_data_script_splits_places_reproducibly(tmp_path):
    """The split the shipped model was trained with: train/validation/test cells never overlap."""
    out = tmp_path / "split"
    subprocess.run(["/usr/bin/python3", str(ROOT / "scripts" / "default_model_data.py"), str(out), "--areas-only"],
                   check=True, capture_output=True)
    from osgeo import ogr

    ds = ogr.Open(str(out / "labels.gpkg"))
    layers = {n: [f.GetGeometryRef().Clone() for f in ds.GetLayerByName(n)] for n in ("trainval_area", "val_area",
                                                                                       "test_area")}
    assert len(layers["test_area"]) >= 8
    for t in layers["test_area"]:
        for tv in layers["trainval_area"]:
            inter = t.Intersection(tv)
            assert inter is None or inter.GetArea() < 1e-12  # degrees²: under 0.02 m²
    areas = np.array([g.GetArea() for g in layers["test_area"]])
    assert (areas > 0).all()


@pytest.mark.skipif(not os.path.exists("/usr/bin/python3"), reason="needs Debian's python3 with GDAL")
def test_default_model_data_holds_whole_cities_out(tmp_path):
    """--hold-out leaves a city out of every layer (no cell of it is trained on, validated or tested), so that
    accuracy.py --held-out can measure the model there as a city it never saw; a place that is not a training
    place is refused by name."""
    script = [str(ROOT / "scripts" / "default_model_data.py")]
    out = tmp_path / "split"
    subprocess.run(["/usr/bin/python3", *script, str(out), "--areas-only", "--hold-out", "kampala", "catanduanes"],
                   check=True, capture_output=True)
    from osgeo import ogr

    ds = ogr.Open(str(out / "labels.gpkg"))
    for name in ("buildings", "trainval_area", "val_area", "test_area"):
        kept = {f.GetField("place") for f in ds.GetLayerByName(name)}
        assert kept and not kept & {"kampala", "catanduanes"}, name
    assert "nairobi" in {f.GetField("place") for f in ds.GetLayerByName("test_area")}
    bad = subprocess.run(["/usr/bin/python3", *script, str(tmp_path / "bad"), "--areas-only", "--hold-out", "austin"],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "austin" in bad.stderr


BLOCKS = "buildings-blocks.safetensors"


def test_bundled_block_model_is_chosen_by_name_and_outlines_blocks(run_alg, tmp_path):
    """The bundled alternative for block-level mapping, given by its bare name (as qgis_process users and the
    model chooser give it), outlines the compounds the Dubai sample's reference draws far better than the
    default's houses do, on a Dubai test-group scene neither model trained on."""
    from osgeo import ogr

    from buildseg.engine.evaluation.evaluate import EvalParams, evaluate, polygons_from_file, raster_extent
    from buildseg.engine.models import modelfile

    info = modelfile.read_info(os.path.join(os.path.dirname(DEFAULT_MODEL), BLOCKS))
    assert info.resolution == modelfile.read_info(DEFAULT_MODEL).resolution
    assert any("dubai" in d for d in info.training["data"]) and info.metrics["test"]["dubai_tile8_mean_building_iou"]
    sample = str(ROOT / "resources" / "sample" / "sample.tif")
    with rasterio.open(sample) as src:
        crs, pixel = src.crs.to_wkt(), abs(src.transform.a)
    ref = [g for g, _ in polygons_from_file(str(ROOT / "resources" / "sample" / "sample_buildings.gpkg"), crs)]
    iou, used = {}, {}
    for model in ("", BLOCKS):
        out = str(tmp_path / f"{model or 'default'}.gpkg")
        run_alg("buildseg:extractbuildings", {"INPUT": sample, "MODEL": model, "OUTPUT_POLYGONS": out})
        ds = ogr.Open(out)
        used[model] = {f.GetField("model") for f in ds.GetLayer(0)}
        ds = None
        pred = [g for g, _ in polygons_from_file(out, crs)]
        iou[model] = evaluate(pred_shapes=pred, ref_shapes=ref, aoi=[raster_extent(sample)],
                              params=EvalParams(pixel_size=pixel))["pixel_iou"]
    assert used == {"": {os.path.basename(DEFAULT_MODEL)}, BLOCKS: {BLOCKS}}
    assert iou[BLOCKS] > iou[""] + 0.1, iou


def test_model_chooser_lists_the_bundled_alternative(qgis_app):
    from buildseg.processing_provider.model_chooser import available_models

    models = available_models()
    assert models[0][0] == "" and (BLOCKS, f"{BLOCKS} (bundled)") in [m[:2] for m in models]


@pytest.mark.parametrize("clip, expected", [
    ("gdl-massachusetts/22978945_15_uint8_clipped.tif", BLOCKS),  # 1 m: beyond the default's 0.08-0.5 m imagery
    ("gdl-spacenet/SN4_buildings_train_AOI_6_Atlanta_nadir10_catid_1030010003993E00_PS-RGB_732701_3729639_clipped.tif",
     "buildings-default.safetensors"),  # 0.5 m: within it
])
def test_auto_model_follows_the_input_resolution(run_alg, tmp_path, clip, expected):
    """MODEL=auto runs the bundled model whose training imagery covers the input's ground resolution; the
    polygons record which model drew them."""
    from osgeo import ogr

    out = str(tmp_path / "b.gpkg")
    run_alg("buildseg:extractbuildings", {"INPUT": str(DATA / "fixtures" / clip), "MODEL": "auto",
                                          "OUTPUT_POLYGONS": out})
    ds = ogr.Open(out)
    assert {f.GetField("model") for f in ds.GetLayer(0)} == {expected}


def test_model_choice_reads_the_training_imagery_range():
    """The ranges come from the model files; a model that records none is never preferred to the default."""
    from buildseg.engine.models import choice, modelfile

    blocks = os.path.join(os.path.dirname(DEFAULT_MODEL), BLOCKS)
    assert choice.imagery_range(modelfile.read_info(DEFAULT_MODEL)) == pytest.approx((0.0775, 0.5))
    assert choice.imagery_range(modelfile.read_info(blocks)) == pytest.approx((0.0775, 1.0))
    assert choice.distance((0.0775, 0.5), 0.6) == 0 < choice.distance((0.0775, 0.5), 0.7)
    assert choice.distance(None, 0.3) == float("inf")
    assert choice.choose([DEFAULT_MODEL, blocks], 0.05)[0] == DEFAULT_MODEL  # both cover it: the default
    assert choice.choose([DEFAULT_MODEL, blocks], 4.8)[0] == blocks  # neither: the nearer
