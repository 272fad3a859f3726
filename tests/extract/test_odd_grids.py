"""Rasters on odd grids lose nothing: a rotated geotransform (its pixels as large as a north-up raster's, every
pixel brought back from the model's grid where it lies) and a geographic CRS (ground measured in metres, in
the fit check, the resolution and the model's grid)."""

import pytest
import rasterio
from affine import Affine
from rasterio.enums import Resampling

from conftest import DATA, DEFAULT_MODEL, progress_log, recorder


@pytest.fixture(scope="module")
def grids(tmp_path_factory):
    """Austin averaged to 0.6 m (so the model resamples it to its 0.3 m): north-up, the same pixels with the
    geotransform rotated by 30°, and the north-up raster warped into EPSG:4326."""
    from osgeo import gdal

    d = tmp_path_factory.mktemp("grids")
    with rasterio.open(DATA / "cities" / "austin" / "image.tif") as s:
        data = s.read([1, 2, 3], out_shape=(3, 500, 500), resampling=Resampling.average)
        t, crs = s.transform, s.crs
    profile = dict(driver="GTiff", width=500, height=500, count=3, dtype="uint8", crs=crs)
    out = {}
    for name, transform in (("north_up", Affine(0.6, 0, t.c, 0, -0.6, t.f)),
                            ("rotated", Affine.translation(t.c, t.f) * Affine.rotation(-30) * Affine.scale(0.6, -0.6))):
        out[name] = str(d / f"{name}.tif")
        with rasterio.open(out[name], "w", transform=transform, **profile) as dst:
            dst.write(data)
    out["geographic"] = str(d / "geographic.tif")
    gdal.Warp(out["geographic"], out["north_up"], dstSRS="EPSG:4326")
    return out


def _extract(raster, tmp_path, name):
    from buildseg.engine.extract.inference import ExtractParams, extract

    log = progress_log()
    mask = str(tmp_path / f"{name}.tif")
    res = extract(raster, DEFAULT_MODEL, out_mask=mask, out_polygons=str(tmp_path / f"{name}.gpkg"),
                  params=ExtractParams(check_fit=True), progress=log)
    with rasterio.open(mask) as m:
        return m.read(1), res, "\n".join(log.lines)


def test_rotated_raster_keeps_every_pixel_and_its_place(grids, tmp_path):
    from buildseg.engine.io.raster import RasterSource

    with RasterSource(grids["rotated"]) as src:
        assert src.ground_resolution() == pytest.approx(0.6, abs=1e-6)  # not cos(30°) x 0.6
    north, _, _ = _extract(grids["north_up"], tmp_path, "north")
    rotated, res, log = _extract(grids["rotated"], tmp_path, "rotated")
    assert "(0.60 m)" in log, log
    assert (rotated != 255).all(), f"{(rotated == 255).mean():.0%} of the mask is nodata"
    both, either = ((north == 1) & (rotated == 1)).sum(), ((north == 1) | (rotated == 1)).sum()
    assert both / either > 0.6, both / either  # the same buildings on the same pixels, model run at another angle
    assert res.buildings > 0.7 * _extract(grids["north_up"], tmp_path, "north2")[1].buildings


def test_geographic_raster_is_measured_in_metres_everywhere(grids, tmp_path, run_alg):
    from buildseg.engine.io.raster import RasterSource

    with RasterSource(grids["geographic"]) as src:
        assert src.ground_resolution() == pytest.approx(0.6, rel=0.05)
    mask, res, log = _extract(grids["geographic"], tmp_path, "geographic")  # the fit check first: no crash
    assert res.fit is not None and res.buildings > 0 and (mask == 1).any()
    feedback = recorder()
    out = run_alg("buildseg:checkfit", {"INPUT": grids["geographic"], "MODEL": DEFAULT_MODEL}, feedback)
    assert 0 <= out["FIT_SCORE"] <= 1
    auto = run_alg("buildseg:extractbuildings", {"INPUT": grids["geographic"], "MODEL": "auto",
                                                 "OUTPUT_MASK": str(tmp_path / "auto.tif")})
    with rasterio.open(auto["OUTPUT_MASK"]) as m:
        assert (m.read(1) == 1).any()


def test_work_folder_estimate_counts_only_the_area_of_interest(grids, tmp_path):
    """A 400,000 px VRT at 1 m would need terabytes of work folder on the model's 0.3 m grid: refused; the same
    raster with a small area of interest needs a sliver of it and is not refused."""
    from osgeo import gdal

    from buildseg.engine.core.atomic import DiskFull
    from buildseg.engine.core.progress import Progress
    from buildseg.engine.extract.inference import _check_work_space
    from buildseg.engine.extract.plan import make_plan
    from buildseg.engine.io.raster import RasterSource
    from buildseg.engine.models import modelfile

    with rasterio.open(grids["north_up"]) as src:
        x0, _, _, y1 = src.bounds
    huge = str(tmp_path / "huge.vrt")
    gdal.BuildVRT(huge, [grids["north_up"]], outputBounds=(x0, y1 - 400000, x0 + 400000, y1), xRes=1.0, yRes=1.0)
    info = modelfile.read_info(DEFAULT_MODEL)
    with RasterSource(huge) as src:
        plan = make_plan(src, info, progress=Progress())
        with pytest.raises(DiskFull, match="work folder"):
            _check_work_space(src, plan, False, Progress())
        aoi = [{"type": "Polygon", "coordinates": [[[x0, y1], [x0 + 300, y1], [x0 + 300, y1 - 300], [x0, y1 - 300],
                                                    [x0, y1]]]}]
        _check_work_space(src, plan, False, Progress(), aoi)  # 300 m square: about 1 MP on the model's grid
