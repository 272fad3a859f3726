"""Export heatmap and kernels on real imagery with the bundled (trained) model."""

import csv
import json

import numpy as np
import pytest
import rasterio
from scipy import ndimage

from conftest import DATA, DEFAULT_MODEL, crop, qgis_process

NODATA = -9999


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """A 512 px crop of Austin (aerial, 0.3 m: the default model's resolution; a city it never trained on) with
    classes from its reference mask: 1 building, 2 background (all of it is labelled)."""
    d = tmp_path_factory.mktemp("heat")
    place = DATA / "cities" / "austin"
    image = crop(str(place / "image.tif"), str(d / "scene.tif"), 200, 200, 512, 512)
    mask = crop(str(place / "mask.tif"), str(d / "mask.tif"), 200, 200, 512, 512)
    with rasterio.open(mask) as m:
        classes = np.where(m.read(1) == 1, 1, 2).astype(np.uint8)
    assert 0.1 < (classes == 1).mean() < 0.6
    return image, classes


def _heat(run_alg, image, tmp_path, mode, **extra):
    from buildseg.engine.explain.heatmap import MODES

    res = run_alg("buildseg:exportheatmap", {"INPUT": image, "MODE": MODES.index(mode), "TILE_SIZE": 256,
                                             "OVERLAP": 64,
                                             "OUTPUT": str(tmp_path / f"{mode}.tif"), **extra})
    with rasterio.open(res["OUTPUT"]) as h, rasterio.open(image) as src:
        assert h.crs == src.crs and h.transform == src.transform and h.shape == src.shape
        assert h.dtypes[0] == "float32" and h.nodata == NODATA
        return h.read(1), res


@pytest.mark.parametrize("mode", ["gradcam", "gradcam++"])
def test_gradcam_is_higher_on_buildings(run_alg, scene, tmp_path, mode):
    image, classes = scene
    heat, _ = _heat(run_alg, image, tmp_path, mode)
    ok = heat != NODATA
    assert np.isfinite(heat).all() and heat[ok].min() >= 0 and heat[ok].max() == pytest.approx(1.0)
    labelled = ok & (classes != 0)
    building = labelled & (classes == 1)
    assert heat[building].mean() > 2 * heat[labelled & ~building].mean()


@pytest.mark.parametrize("mode", ["entropy", "tta-variance"])
def test_uncertainty_is_higher_at_building_edges(run_alg, scene, tmp_path, mode):
    image, classes = scene
    heat, _ = _heat(run_alg, image, tmp_path, mode)
    building = classes == 1
    edges = building ^ ndimage.binary_erosion(building, iterations=2)
    interior = ndimage.binary_erosion(building, iterations=6)
    assert heat[edges].mean() > heat[interior].mean()
    ok = heat != NODATA
    assert heat[ok].min() >= 0 and heat[ok].max() <= (1.0 if mode == "entropy" else 0.25)


def test_probability_and_features_and_quicklook(run_alg, scene, tmp_path):
    image, classes = scene
    prob, _ = _heat(run_alg, image, tmp_path, "probability")
    assert 0 <= prob.min() and prob.max() <= 1 and prob[classes == 1].mean() > prob[classes > 1].mean()
    feats, res = _heat(run_alg, image, tmp_path, "features", CHANNELS="0,1,2",
                       OUTPUT_QUICKLOOK=str(tmp_path / "q.png"))
    assert np.isfinite(feats).all() and feats.std() > 0
    from PIL import Image

    assert Image.open(res["OUTPUT_QUICKLOOK"]).size == (512, 512)


def test_gradcam_tiles_have_no_seams(tmp_path, scene):
    """One big tile and many overlapping tiles give nearly the same scene-normalised Grad-CAM."""
    from buildseg.engine.explain.heatmap import HeatmapParams, export_heatmap

    image, _ = scene
    export_heatmap(image, DEFAULT_MODEL, str(tmp_path / "one.tif"), HeatmapParams("gradcam", tile_size=512, overlap=0))
    export_heatmap(image, DEFAULT_MODEL, str(tmp_path / "many.tif"),
                   HeatmapParams("gradcam", tile_size=256, overlap=128))
    with rasterio.open(tmp_path / "one.tif") as a, rasterio.open(tmp_path / "many.tif") as b:
        one, many = a.read(1), b.read(1)
    assert np.corrcoef(one.ravel(), many.ravel())[0, 1] > 0.8
    # no jump along the tile borders of the tiled run (x = 128, 256, 384 for stride 128)
    grad = np.abs(np.diff(many, axis=1)).mean(0)
    assert grad[[127, 255, 383]].max() < 4 * np.median(grad) + 0.02


def test_unknown_layer_lists_the_choices(run_alg, scene, tmp_path):
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="has no layer 'nope'.*decoder"):
        _heat(run_alg, scene[0], tmp_path, "gradcam", LAYER="nope")
    assert not (tmp_path / "gradcam.tif").exists()


def test_export_kernels(run_alg, tmp_path):
    from PIL import Image

    res = run_alg("buildseg:exportkernels", {"OUTPUT": str(tmp_path / "k.png"),
                                            "OUTPUT_REPORT": str(tmp_path / "w.csv")})
    assert Image.open(res["OUTPUT"]).size[0] > 100
    rows = list(csv.DictReader(open(res["OUTPUT_REPORT"])))
    assert rows[0]["layer"].endswith("weight") and float(rows[0]["std"]) > 0 and len(rows) > 50


def test_heatmap_through_qgis_process(scene, tmp_path):
    out = qgis_process("run", "buildseg:exportheatmap", "--json", "--", f"INPUT={scene[0]}", "MODE=2",
                       "TILE_SIZE=256", f"OUTPUT={tmp_path / 'h.tif'}")
    assert out.returncode == 0, out.stdout + out.stderr
    assert json.loads(out.stdout)["results"]["OUTPUT"] == str(tmp_path / "h.tif")
    with rasterio.open(tmp_path / "h.tif") as h:
        assert h.read(1).max() == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["unet-mobilenet", "unet-efficientnet-lite0", "unet-efficientnet-lite2",
                                  "deeplabv3plus", "pfnet", "smp"])
def test_every_architecture_has_a_default_gradcam_layer(name):
    """Without one, Grad-CAM looked at the whole network's output (Grad-CAM++ came out inverted)."""
    from buildseg.engine.models.registry import ARCHITECTURES, build

    assert all(a.gradcam_layer for a in ARCHITECTURES.values())  # a field of every registry entry
    params = {"pretrained": False} if ARCHITECTURES[name].backbone else {}
    assert ARCHITECTURES[name].gradcam_layer in dict(build(name, 3, 2, params).named_modules())


def test_heatmap_runs_at_the_model_resolution_like_extraction(run_alg, tmp_path):
    """Austin brought to 0.6 m: the 0.3 m default model sees it resampled to 0.3 m in both extraction and the
    probability heatmap, and both come back on the input grid with the same values."""
    from osgeo import gdal

    from buildseg.engine.explain.heatmap import MODES

    coarse = str(tmp_path / "austin_06.tif")
    gdal.Translate(coarse, str(DATA / "cities" / "austin" / "image.tif"), srcWin=[0, 0, 600, 600], xRes=0.6,
                   yRes=0.6, resampleAlg="average")
    heat = run_alg("buildseg:exportheatmap", {"INPUT": coarse, "MODEL": DEFAULT_MODEL, "MODE": MODES.index(
        "probability"), "OUTPUT": str(tmp_path / "h.tif")})
    ext = run_alg("buildseg:extractbuildings", {"INPUT": coarse, "MODEL": DEFAULT_MODEL,
                                                "OUTPUT_PROBABILITY": str(tmp_path / "p.tif")})
    with rasterio.open(heat["OUTPUT"]) as h, rasterio.open(ext["OUTPUT_PROBABILITY"]) as p, \
            rasterio.open(coarse) as src:
        assert h.shape == src.shape == (300, 300) and h.transform == src.transform
        a, b = h.read(1), p.read(1)
    ok = (a >= 0) & (b >= 0)
    assert ok.mean() > 0.9 and (b[ok] > 0.5).mean() > 0.05
    assert np.corrcoef(a[ok], b[ok])[0, 1] > 0.98
