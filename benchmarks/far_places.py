"""Far places: imagery the shipped default model never trained on, each split into a part that trains and a part
that tests (spatially separate), made from ../shared/data into a folder. Used by same_budget.py --far and
accuracy.py-style zero-shot scoring (adapt_zero_shot.py).

- austin: Inria-derived aerial 0.3 m, USA (evaluation only in cities/index.csv: never trained on). West half
  trains, east half tests.
- austin-satellite: the same crop made into coarser satellite imagery: averaged to 0.6 m, colours of another
  sensor (per-band gain and gamma, haze), and the training outlines shifted by 5 m (4 m east, 3 m north) as
  outlines traced over other imagery are; the test half is scored against the true outlines. North half trains.
- dubai-tile8: MBRSC satellite imagery at a nominal 1 m (Humans in the Loop, CC0), block-level outlines; the
  default model never saw Dubai. Parts 1-4 of Tile 8 side by side in a 2 x 2 mosaic (nominal georeferencing,
  as the source has): the top row trains, the bottom row tests.
- atlanta-pan: SpaceNet 4 Atlanta, WorldView-2 panchromatic 0.5 m (16-bit, one band), stretched to 8 bits
  (2-98 % percentiles) and repeated in three bands, as a user would load a grey image into an RGB model.
  West half trains, east half tests.

    python benchmarks/far_places.py OUT_FOLDER     # writes OUT_FOLDER/<place>/{image.tif, labels.gpkg, ...}

Each place folder: image.tif, labels.gpkg (layer buildings: what the user labelled, offsets included),
truth.gpkg (the true outlines, for scoring), places.json (train and test areas as GeoJSON in the image CRS).
"""

import json
import os
import sys

import numpy as np
from common import DATA, import_plugin

import_plugin()
CITIES = DATA / "cities"
PLACES = ["austin", "austin-satellite", "dubai-tile8", "atlanta-pan"]


def _box(left, bottom, right, top):
    return {"type": "Polygon", "coordinates": [[[left, bottom], [right, bottom], [right, top], [left, top],
                                                [left, bottom]]]}


def _halves(bounds, vertical_cut: bool):
    """(first, second) halves of a bounds: west/east when vertical_cut, else north/south."""
    left, bottom, right, top = bounds
    if vertical_cut:
        mid = (left + right) / 2
        return _box(left, bottom, mid, top), _box(mid, bottom, right, top)
    mid = (bottom + top) / 2
    return _box(left, mid, right, top), _box(left, bottom, right, mid)


def _read_polygons(path: str, crs_wkt: str) -> list:
    from buildseg.engine.evaluation.evaluate import polygons_from_file

    return [g for g, _ in polygons_from_file(path, crs_wkt)]


def _shift(geom: dict, dx: float, dy: float) -> dict:
    from shapely.affinity import translate
    from shapely.geometry import mapping, shape

    return mapping(translate(shape(geom), dx, dy))


def _write_polygons(geoms: list, crs_wkt: str, path: str) -> None:
    from osgeo import ogr, osr

    if os.path.exists(path):
        os.remove(path)
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    lyr = ds.CreateLayer("buildings", osr.SpatialReference(wkt=crs_wkt), ogr.wkbMultiPolygon)
    for g in geoms:
        f = ogr.Feature(lyr.GetLayerDefn())
        f.SetGeometry(ogr.ForceToMultiPolygon(ogr.CreateGeometryFromJson(json.dumps(g))))
        lyr.CreateFeature(f)
    ds = None


def _write_image(path: str, data: np.ndarray, crs, transform, valid: np.ndarray = None) -> None:
    import rasterio

    profile = dict(driver="GTiff", width=data.shape[2], height=data.shape[1], count=data.shape[0], dtype="uint8",
                   crs=crs, transform=transform, compress="deflate", tiled=True, photometric="RGB")
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        if valid is not None:
            dst.write_mask(valid.astype(np.uint8) * 255)


def _finish(out: str, crs_wkt: str, labels: list, truth: list, train: dict, test: dict, how: str) -> None:
    _write_polygons(labels, crs_wkt, os.path.join(out, "labels.gpkg"))
    _write_polygons(truth, crs_wkt, os.path.join(out, "truth.gpkg"))
    with open(os.path.join(out, "places.json"), "w") as f:
        json.dump({"train": [train], "test": [test], "how": how}, f)


def make_austin(out: str) -> None:
    import rasterio

    src_path = CITIES / "austin" / "image.tif"
    with rasterio.open(src_path) as src:
        data, crs, transform, bounds = src.read([1, 2, 3]), src.crs, src.transform, src.bounds
    _write_image(os.path.join(out, "image.tif"), data, crs, transform)
    shapes = _read_polygons(str(CITIES / "austin" / "buildings.gpkg"), crs.to_wkt())
    train, test = _halves(bounds, True)
    _finish(out, crs.to_wkt(), shapes, shapes, train, test, "Inria-derived aerial 0.3 m as it is")


def make_austin_satellite(out: str) -> None:
    import rasterio
    from rasterio.enums import Resampling

    with rasterio.open(CITIES / "austin" / "image.tif") as src:
        h, w = src.height // 2, src.width // 2
        data = src.read([1, 2, 3], out_shape=(3, h, w), resampling=Resampling.average).astype(np.float32) / 255
        crs, bounds = src.crs, src.bounds
        transform = src.transform * src.transform.scale(src.width / w, src.height / h)
    gain, gamma, haze = np.array([0.92, 1.0, 1.12]), np.array([1.15, 1.05, 0.9]), np.array([0.16, 0.17, 0.2])
    sat = (data ** gamma[:, None, None]) * gain[:, None, None]
    sat = sat * 0.8 + haze[:, None, None]
    img = np.clip(np.round(sat * 255), 0, 255).astype(np.uint8)
    _write_image(os.path.join(out, "image.tif"), img, crs, transform)
    truth = _read_polygons(str(CITIES / "austin" / "buildings.gpkg"), crs.to_wkt())
    labels = [_shift(g, 4.0, 3.0) for g in truth]  # 5 m off the imagery
    train, test = _halves(bounds, False)
    _finish(out, crs.to_wkt(), labels, truth, train, test,
            "Austin averaged to 0.6 m, another sensor's colours (gain, gamma, haze), training outlines 5 m off")


def make_dubai(out: str) -> None:
    import rasterio
    from rasterio.transform import from_origin

    parts = [DATA / "dubai" / "scenes" / f"tile8_part{k}.tif" for k in (1, 2, 3, 4)]
    srcs = [rasterio.open(p) for p in parts]
    cw, ch = max(s.width for s in srcs), max(s.height for s in srcs)
    crs = srcs[0].crs
    x0, y0 = srcs[0].bounds.left, srcs[0].bounds.top
    transform = from_origin(x0, y0, 1.0, 1.0)
    img = np.zeros((3, 2 * ch, 2 * cw), np.uint8)
    valid = np.zeros((2 * ch, 2 * cw), bool)
    shapes = []
    for k, (p, s) in enumerate(zip(parts, srcs)):
        r, c = divmod(k, 2)
        img[:, r * ch:r * ch + s.height, c * cw:c * cw + s.width] = s.read([1, 2, 3])
        valid[r * ch:r * ch + s.height, c * cw:c * cw + s.width] = True
        dx, dy = x0 + c * cw - s.bounds.left, y0 - r * ch - s.bounds.top
        shapes += [_shift(g, dx, dy) for g in _read_polygons(str(p)[:-4] + "_buildings.gpkg", crs.to_wkt())]
        s.close()
    _write_image(os.path.join(out, "image.tif"), img, crs, transform, valid)
    bounds = (x0, y0 - 2 * ch, x0 + 2 * cw, y0)
    train, test = _halves(bounds, False)
    _finish(out, crs.to_wkt(), shapes, shapes, train, test,
            "Dubai Tile 8 parts 1-4 (nominal 1 m, block outlines) in a 2 x 2 mosaic")


def make_atlanta(out: str) -> None:
    import rasterio

    fx = DATA / "fixtures" / "solaris-spacenet"
    with rasterio.open(fx / "sample_geotiff.tif") as src:
        pan = src.read(1).astype(np.float32)
        crs, transform, bounds = src.crs, src.transform, src.bounds
    valid = pan > 0
    lo, hi = np.percentile(pan[valid], [2, 98])
    grey = np.clip(np.round((pan - lo) / (hi - lo) * 255), 0, 255).astype(np.uint8)
    _write_image(os.path.join(out, "image.tif"), np.stack([grey] * 3), crs, transform)
    shapes = _read_polygons(str(fx / "geotiff_labels.geojson"), crs.to_wkt())
    train, test = _halves(bounds, True)
    _finish(out, crs.to_wkt(), shapes, shapes, train, test,
            "SpaceNet 4 Atlanta panchromatic 0.5 m, 2-98 % stretch to 8 bits, grey in three bands")


MAKERS = {"austin": make_austin, "austin-satellite": make_austin_satellite, "dubai-tile8": make_dubai,
          "atlanta-pan": make_atlanta}


def prepare(folder: str, names=PLACES) -> dict:
    """place -> its folder, made when missing."""
    out = {}
    for name in names:
        d = os.path.join(folder, name)
        if not os.path.exists(os.path.join(d, "places.json")):
            os.makedirs(d, exist_ok=True)
            MAKERS[name](d)
        out[name] = d
    return out


def place(folder: str) -> dict:
    """A prepared place: image, labels, truth, train and test areas, how it was made."""
    with open(os.path.join(folder, "places.json")) as f:
        meta = json.load(f)
    return {"image": os.path.join(folder, "image.tif"), "labels": os.path.join(folder, "labels.gpkg"),
            "truth": os.path.join(folder, "truth.gpkg"), **meta}


if __name__ == "__main__":
    for name, d in prepare(sys.argv[1]).items():
        print(name, d, place(d)["how"])
