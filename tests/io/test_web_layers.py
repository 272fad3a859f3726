"""Any QGIS raster layer as input: an XYZ layer from a local tile server, a flaky server, an in-memory raster."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio

from conftest import DEFAULT_MODEL, crop, dubai, dubai_labels, edited_header_copy, qgis_process, recorder

SERVER = Path(__file__).resolve().parents[1] / "tile_server.py"


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """A 640 x 512 crop of a Dubai test image (Tile 8) with many buildings."""
    return crop(dubai("tile8_part4"), str(tmp_path_factory.mktemp("web") / "crop.tif"), 200, 150, 640, 512)


Z17 = 2 * 20037508.342789244 / 256 / 2**17  # Web Mercator units per pixel at zoom 17 (1.08 m here)


@pytest.fixture(scope="module")
def mercator(scene):
    """The crop in Web Mercator on the zoom-17 pixel grid: the tile server cuts its tiles from this GeoTIFF."""
    from osgeo import gdal

    out = scene.replace(".tif", "_3857.tif")
    gdal.Warp(out, scene, dstSRS="EPSG:3857", xRes=Z17, yRes=Z17, targetAlignedPixels=True,
              resampleAlg="bilinear", creationOptions=["TILED=YES"])
    return out


@pytest.fixture(scope="module")
def servers(mercator, tmp_path_factory):
    """start(fail_every=0) -> (XYZ URI, request log path); every server is stopped at the end."""
    procs = []

    def start(fail_every=0):
        log = tmp_path_factory.mktemp("tiles") / "requests.log"
        proc = subprocess.Popen([sys.executable, str(SERVER), mercator, "--fail-every", str(fail_every),
                                 "--log", str(log)], stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        port = int(proc.stdout.readline())
        return f"type=xyz&url=http://127.0.0.1:{port}/{{z}}/{{x}}/{{y}}.png&zmin=0&zmax=19", log

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


def _extent(path) -> str:
    with rasterio.open(path) as ds:
        b = ds.bounds
        return f"{b.left},{b.right},{b.bottom},{b.top} [EPSG:{ds.crs.to_epsg()}]"


def _on_grid_of(path, like, work) -> np.ndarray:
    """`path` (a mask) warped onto the grid of `like` (nearest), nodata 255."""
    from osgeo import gdal

    with rasterio.open(like) as ds:
        b = ds.bounds
        out = gdal.Warp(str(work / "regridded.tif"), path, dstSRS=ds.crs.to_wkt(), resampleAlg="near",
                        outputBounds=(b.left, b.bottom, b.right, b.top), width=ds.width, height=ds.height,
                        srcNodata=255, dstNodata=255)
        arr = out.ReadAsArray()
        out = None
    return arr


def _iou(a, b) -> float:
    ok = (a != 255) & (b != 255)
    a, b = a[ok] == 1, b[ok] == 1
    return (a & b).sum() / max((a | b).sum(), 1)


@pytest.fixture(scope="module")
def model_1m(tmp_path_factory):
    """The bundled network declared a 1 m model: these tests are about fetching web layers on the grid of a
    model's resolution, and the Dubai tiles served here are 1 m (the bundled model itself is 0.3 m)."""
    return edited_header_copy(DEFAULT_MODEL, str(tmp_path_factory.mktemp("m1") / "model_1m.safetensors"),
                              resolution=1.0)


def test_xyz_layer_matches_the_geotiff(run_alg, mercator, servers, tmp_path, model_1m):
    """The web layer is read at its own zoom-17 pixels (within the model's resolution tolerance), so the
    model sees the same pixels as when it reads the GeoTIFF the tiles were cut from."""
    from qgis.core import QgsRasterLayer

    uri, log = servers()
    layer = QgsRasterLayer(uri, "Dubai XYZ", "wms")
    assert layer.isValid()
    ref = run_alg("buildseg:extractbuildings", {"INPUT": mercator, "MODEL": model_1m,
                                                "OUTPUT_MASK": str(tmp_path / "ref.tif")})
    web = run_alg("buildseg:extractbuildings", {
        "INPUT": layer, "MODEL": model_1m, "EXTENT": _extent(mercator),
        "OUTPUT_MASK": str(tmp_path / "web.tif"), "OUTPUT_POLYGONS": str(tmp_path / "web.gpkg")})
    with rasterio.open(web["OUTPUT_MASK"]) as ds:
        assert ds.crs.to_epsg() == 3857  # the layer's CRS
        assert ds.transform.a == pytest.approx(Z17)
        mask = ds.read(1)
    assert (mask == 1).mean() > 0.05
    assert all(line.startswith("/17/") for line in log.read_text().split())
    with rasterio.open(ref["OUTPUT_MASK"]) as ds:
        reference = ds.read(1)
    regridded = _on_grid_of(web["OUTPUT_MASK"], mercator, tmp_path)
    assert (regridded != 255).sum() >= 0.95 * (reference != 255).sum()
    assert _iou(regridded, reference) >= 0.95
    assert web["BUILDING_COUNT"] > 0


def test_failed_tiles_become_nodata_with_a_warning(run_alg, mercator, servers, tmp_path, model_1m):
    from qgis.core import QgsRasterLayer

    uri, log = servers(fail_every=3)
    feedback = recorder()
    res = run_alg("buildseg:extractbuildings", {
        "INPUT": QgsRasterLayer(uri, "flaky", "wms"), "MODEL": model_1m, "EXTENT": _extent(mercator),
        "OUTPUT_MASK": str(tmp_path / "mask.tif"), "OUTPUT_PROBABILITY": str(tmp_path / "prob.tif")},
        feedback=feedback)
    with rasterio.open(res["OUTPUT_MASK"]) as m, rasterio.open(res["OUTPUT_PROBABILITY"]) as p:
        mask, prob = m.read(1), p.read(1)
    holes = mask == 255
    assert 0.1 < holes.mean() < 0.9  # failed tiles are nodata, the rest has results
    assert (prob[holes] == -1).all() and ((mask[~holes] == 0) | (mask[~holes] == 1)).all()
    assert any("not 'no buildings'" in w for w in feedback.warnings)
    failed = [line for line in log.read_text().split() if sum(map(int, line[1:-4].split("/")[1:])) % 3 == 0]
    assert len(failed) > len(set(failed))  # failed tiles were retried


def test_in_memory_raster_and_heatmap(run_alg, scene, tmp_path, model_1m):
    """A GDAL raster in /vsimem (no file on disk) goes through the provider reader, as a WCS/WMS layer would."""
    from osgeo import gdal
    from qgis.core import QgsRasterLayer

    gdal.Translate("/vsimem/buildseg-test.tif", scene)
    layer = QgsRasterLayer("/vsimem/buildseg-test.tif", "in memory", "gdal")
    assert layer.isValid()
    ref = run_alg("buildseg:extractbuildings", {"INPUT": scene, "MODEL": model_1m,
                                                "OUTPUT_MASK": str(tmp_path / "ref.tif")})
    res = run_alg("buildseg:extractbuildings", {"INPUT": layer, "MODEL": model_1m,
                                                "OUTPUT_MASK": str(tmp_path / "mem.tif")})
    with rasterio.open(ref["OUTPUT_MASK"]) as a, rasterio.open(res["OUTPUT_MASK"]) as b:
        assert b.crs == a.crs and b.transform.almost_equals(a.transform)
        assert _iou(b.read(1), a.read(1)) > 0.99
    heat = run_alg("buildseg:exportheatmap", {"INPUT": layer, "MODEL": model_1m, "MODE": 0,
                                              "OUTPUT": str(tmp_path / "heat.tif"),
                                              "OUTPUT_QUICKLOOK": str(tmp_path / "quick.png")})
    with rasterio.open(heat["OUTPUT"]) as h:
        assert 0 <= h.read(1).max() <= 1
    assert (tmp_path / "quick.png").stat().st_size > 1000
    gdal.Unlink("/vsimem/buildseg-test.tif")


def test_training_on_a_web_layer(run_alg, mercator, servers, tmp_path):
    from qgis.core import QgsRasterLayer, QgsVectorLayer

    uri, _ = servers()
    labels = QgsVectorLayer(dubai_labels("tile8_part4"), "labels", "ogr")
    res = run_alg("buildseg:trainmodel", {
        "INPUT": [QgsRasterLayer(uri, "web", "wms")], "LABELS": labels, "EXTENT": _extent(mercator),
        "ARCHITECTURE": 0, "FROM_SCRATCH": True, "ALIGN_LABELS": False, "TILE_SIZE": 128, "EPOCHS": 1,
        "TILES_PER_EPOCH": 8,
        "BATCH_SIZE": 4, "VAL_FRACTION": 0, "OUTPUT_MODEL": str(tmp_path / "web.safetensors")})
    from buildseg.engine.models.modelfile import read_info

    info = read_info(res["OUTPUT_MODEL"])
    # fetched at the default model's 0.3 m, snapped to the service's zoom-19 pixels: 1.08 m / 4 on the ground
    assert info.in_channels == 3 and info.resolution == pytest.approx(1.08 / 4, rel=0.02)
    assert not list(tmp_path.glob("*.tif"))  # the fetched imagery was a temporary file


def test_xyz_uri_through_qgis_process(mercator, servers, tmp_path):
    uri, log = servers()
    proc = qgis_process("run", "buildseg:extractbuildings", "--json", "--", f"INPUT={uri}",
                        f"EXTENT={_extent(mercator)}", f"OUTPUT_MASK={tmp_path / 'mask.tif'}")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    with rasterio.open(tmp_path / "mask.tif") as ds:
        assert ds.crs.to_epsg() == 3857 and (ds.read(1) == 1).any()


def test_a_window_wholly_off_the_raster_reads_as_nothing_valid():
    """A window that lies entirely beyond the raster (a validation block's tail at a coarser scale) reads as
    zeros with no valid pixel instead of failing in rasterio ("Number of columns or rows must be non-negative":
    a training run of the bad-input table crashed on it)."""
    from buildseg.engine.io.raster import RasterSource

    from conftest import ROOT

    with RasterSource(str(ROOT / "resources" / "sample" / "sample.tif")) as src:
        for row, col in ((src.height + 10, 0), (0, src.width), (-300, -300)):
            data, valid = src.read([1, 2, 3], row, col, 256, 256)
            assert data.shape == (3, 256, 256) and not valid.any() and not data.any()
        data, valid = src.read([1, 2, 3], src.height - 100, 0, 256, 256)  # partly off: as before
        assert valid[:100].all() and not valid[100:].any() and np.isfinite(data).all()
