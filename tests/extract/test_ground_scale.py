"""Rasters in a CRS that stretches the ground (Web Mercator away from the equator, as OpenAerialMap and tile
services deliver them): their ground resolution, the model's grid and the polygons' areas are measured where
the raster lies, not taken as the CRS's nominal metres."""

import math

import pytest
import rasterio

from conftest import DATA, DEFAULT_MODEL, crop, progress_log

LAT = 60.0  # one Web Mercator unit is cos(60°) = 0.5 m on the ground there


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A 512 px crop of Kampala (Web Mercator at the equator, 0.2986 m) and the same pixels placed at 60° N,
    their pixel size doubled in Mercator units so that they still cover 0.2986 m of ground each."""
    from osgeo import gdal

    d = tmp_path_factory.mktemp("mercator")
    equator = crop(str(DATA / "cities" / "kampala" / "image.tif"), str(d / "equator.tif"), 1792, 0, 512, 512,
                   bandList=[1, 2, 3])
    north = crop(equator, str(d / "north.tif"), 0, 0, 512, 512)
    ds = gdal.Open(north, gdal.GA_Update)
    gt = ds.GetGeoTransform()
    y = 6378137.0 * math.log(math.tan(math.pi / 4 + math.radians(LAT) / 2))
    ds.SetGeoTransform((gt[0], gt[1] / math.cos(math.radians(LAT)), 0, y, 0, gt[5] / math.cos(math.radians(LAT))))
    ds = None
    return equator, north


def test_ground_resolution_is_measured_where_the_raster_lies(pair):
    from buildseg.engine.io.raster import RasterSource

    with RasterSource(pair[0]) as eq, RasterSource(pair[1]) as north:
        assert north.pixel_size()[0] == pytest.approx(2 * eq.pixel_size()[0])
        assert north.ground_resolution() == pytest.approx(eq.ground_resolution(), rel=0.01)
        assert eq.ground_resolution() == pytest.approx(0.2986, abs=0.001)


def test_extraction_at_60_north_sees_the_ground_the_model_learnt(pair, tmp_path):
    """The same pixels give the same mask and polygons of the same area in square metres (before: taken for
    0.6 m imagery, resampled to 0.3 m Mercator units, i.e. 0.15 m of ground, and areas four times too large)."""
    from osgeo import ogr

    from buildseg.engine.extract.inference import ExtractParams, extract

    out = []
    for k, path in enumerate(pair):
        extract(path, str(DEFAULT_MODEL), out_mask=str(tmp_path / f"m{k}.tif"),
                out_polygons=str(tmp_path / f"b{k}.gpkg"), params=ExtractParams(check_fit=False))
        with rasterio.open(tmp_path / f"m{k}.tif") as m:
            mask = m.read(1)
        ds = ogr.Open(str(tmp_path / f"b{k}.gpkg"))
        areas = [f["area_m2"] for f in ds.GetLayer(0)]
        ds = None
        out.append((mask, areas))
    (mask0, areas0), (mask1, areas1) = out
    assert (mask0 == 1).mean() > 0.05 and (mask0 == mask1).all()
    assert len(areas0) == len(areas1) and sum(areas1) == pytest.approx(sum(areas0), rel=0.02)


def test_work_resolution_runs_coarse_imagery_on_a_coarser_grid(tmp_path):
    """Imagery three times coarser than the default model (0.9 m against 0.3 m): WORK_RESOLUTION 0.6 runs the
    model on a 0.6 m grid, a quarter of the tiles of the 0.3 m grid, and brings the results back to the input's
    grid; both runs find the same buildings for the most part. A negative resolution is refused."""
    from buildseg.engine.core.errors import BuildSegError
    from buildseg.engine.extract.inference import ExtractParams, extract

    coarse = crop(str(DATA / "cities" / "austin" / "image.tif"), str(tmp_path / "coarse.tif"), 0, 0, 768, 768,
                  xRes=0.9, yRes=0.9, resampleAlg="average")
    runs = {}
    for res in (0.0, 0.6):
        progress = progress_log()
        out = str(tmp_path / f"mask{res}.tif")
        result = extract(coarse, str(DEFAULT_MODEL), out_mask=out, params=ExtractParams(work_resolution=res),
                         progress=progress)
        with rasterio.open(out) as m, rasterio.open(coarse) as src:
            assert (m.width, m.height, m.transform) == (src.width, src.height, src.transform)
            runs[res] = (result.tiles, m.read(1) == 1, progress.lines)
    assert runs[0.0][0] >= 3 * runs[0.6][0]  # (0.6 / 0.3)² = 4 times fewer model pixels
    assert any("resampling on the fly to 0.60 m" in line for line in runs[0.6][2])
    a, b = runs[0.0][1], runs[0.6][1]
    assert a.sum() > 1000 and b.sum() > 1000
    assert (a & b).sum() / (a | b).sum() > 0.5
    with pytest.raises(BuildSegError, match="work resolution must be positive"):
        extract(coarse, str(DEFAULT_MODEL), out_mask=str(tmp_path / "bad.tif"),
                params=ExtractParams(work_resolution=-1))
