"""Run a model at its own ground resolution: warp the input on the fly, bring results back.

A raster in a geographic CRS is warped to its UTM zone; a projected one whose pixel size differs from the
model's by more than RATIO_TOLERANCE is resampled in its own CRS. Both use GDAL VRTs (nothing is copied).
"""

from ..core.errors import BuildSegError
from ..core.options import MASK_NODATA, prob_nodata
from ..core.progress import Progress

RATIO_TOLERANCE = 1.25
RATIO_WARN = 4.0


def same_scale(raster_res: float, model_res: float) -> bool:
    """Whether a raster at `raster_res` m runs at `model_res` m on its own pixels: the resolutions are within
    RATIO_TOLERANCE (or one is unknown)."""
    return not raster_res or not model_res or 1 / RATIO_TOLERANCE <= raster_res / model_res <= RATIO_TOLERANCE


def used_as_is(src, run_at: float) -> bool:
    """Whether extraction runs the model at `run_at` m on the raster's own grid (model_grid is None): a projected
    CRS and a resolution of the same scale."""
    return not (src.crs and src.crs.is_geographic) and same_scale(src.ground_resolution(), run_at)


def pixels_per_model_pixel(raster_res: float, model_res: float) -> float:
    """How many of the raster's pixels one model pixel spans where extraction runs the model (1 when the
    resolutions are within RATIO_TOLERANCE and the raster is used as it is): training reads windows alike."""
    return 1.0 if same_scale(raster_res, model_res) else model_res / raster_res


def model_grid(src, info, progress: Progress, run_at: float):
    """None when the raster can be used as it is, else (CRS WKT, pixel size in that CRS's units); refuses a
    source that would need warping but has no file behind it (web and block sources). `run_at`: the ground
    resolution (m) the model runs at: its own, or ExtractParams.work_resolution (plan.make_plan chooses)."""
    grid = _model_grid(src, run_at, progress, "the model's" if run_at == info.resolution else
                       f"the one asked for (the model's is {info.resolution or 0:g} m)")
    if grid is not None and not src.path:
        raise BuildSegError(f"The layer {src.name} is not on the model's grid; request it at "
                            f"{run_at:g} m per pixel in a projected CRS.")
    return grid


def _model_grid(src, run_at, progress: Progress, whose: str):
    crs = src.crs
    if crs.is_geographic:
        utm = _utm_zone(src)
        res = run_at or _native_metres(src, utm)
        progress.info(f"The raster is in a geographic CRS: running the model in {utm} at {res:g} m and "
                      "bringing the results back to the input grid.")
        return utm.to_wkt(), res
    if used_as_is(src, run_at):
        return None
    res = src.ground_resolution()
    ratio = res / run_at
    msg = (f"The raster's ground resolution ({res:.2f} m) differs from {whose} ({run_at:.2f} m): "
           f"resampling on the fly to {run_at:.2f} m.")
    if ratio > RATIO_WARN or ratio < 1 / RATIO_WARN:
        progress.warn(msg + f" The factor {ratio:.1f} is large: expect poorer results than at the model's "
                      "resolution.")
    else:
        progress.info(msg)
    return crs.to_wkt(), run_at / src.unit_metres()


def ground_metres(src) -> float:
    """The raster's pixel size in metres (in its UTM zone when its CRS is geographic); None without a CRS (a
    dataset's PNG tiles: their ground resolution is unknown, and they are used as they are)."""
    if not src.crs:
        return None
    return _native_metres(src, _utm_zone(src)) if src.crs.is_geographic else src.ground_resolution()


def _utm_zone(src):
    from rasterio.warp import transform as warp_points

    from .raster import utm_crs

    b = src.ds.bounds
    lon, lat = warp_points(src.crs, "EPSG:4326", [(b.left + b.right) / 2], [(b.top + b.bottom) / 2])
    return utm_crs(lon[0], lat[0])


def _native_metres(src, utm) -> float:
    from rasterio.warp import calculate_default_transform

    tr, _, _ = calculate_default_transform(src.crs, utm, src.width, src.height, *src.ds.bounds)
    return abs(tr.a)


def warped_input(src, grid, vrt_path: str) -> str:
    """A VRT of the input on the model's grid (bilinear; outside the source is nodata)."""
    from osgeo import gdal

    wkt, res = grid
    opts = {"format": "VRT", "dstSRS": wkt, "xRes": res, "yRes": res, "resampleAlg": "bilinear",
            "targetAlignedPixels": True}
    if src.nodata is None:
        opts["dstAlpha"] = True
    gdal.Warp(vrt_path, src.path, **opts)
    return vrt_path


def back_to_input_grid(src, mask_model, mask_out, prob_model, prob_out, prob_uint8: bool) -> None:
    """Warp model-grid results onto the input raster's exact grid (nearest for classes, bilinear for p)."""
    for model_path, out, alg, nodata in ((mask_model, mask_out, "near", MASK_NODATA),
                                         (prob_model, prob_out, "bilinear", prob_nodata(prob_uint8))):
        if model_path and out:
            warp_to_input(src, model_path, out, alg, nodata)


def warp_to_input(src, model_path: str, out: str, alg: str, nodata) -> None:
    """One model-grid raster onto the input raster's exact grid: the output is made with the input's own
    geotransform (a rotated one included) and the model-grid raster is warped into it, so every input pixel
    gets its value from where it lies on the ground."""
    from osgeo import gdal

    model = gdal.Open(model_path)
    band = model.GetRasterBand(1)
    ds = gdal.GetDriverByName("GTiff").Create(out, src.width, src.height, 1, band.DataType,
                                              ["TILED=YES", "COMPRESS=DEFLATE", "BIGTIFF=IF_SAFER"])
    if ds is None:
        raise BuildSegError(f"Cannot create {out}: {gdal.GetLastErrorMsg() or 'check the disk and folder'}.")
    ds.SetGeoTransform(src.transform.to_gdal())  # exactly the input's, not a float round-trip of it
    ds.SetProjection(src.crs.to_wkt())
    ds.GetRasterBand(1).SetNoDataValue(nodata)
    ds.GetRasterBand(1).Fill(nodata)
    done = gdal.Warp(ds, model, resampleAlg=alg, srcNodata=nodata, dstNodata=nodata)
    if done is None:
        raise BuildSegError(f"Cannot warp the results back onto the input's grid: {gdal.GetLastErrorMsg()}.")
    ds.FlushCache()
    ds = done = model = None
