"""Prepare ../shared/data/cities for the default model: every training place warped to one ground
resolution in its UTM zone, and its labelled area split into train, validation and test cells.

The test cells (a quarter of each place, in cells of CELL metres) are never trained on: benchmarks/accuracy.py
measures the model on them, beside places it never saw at all (Austin, the SpaceNet and Massachusetts clips).

    /usr/bin/python3 scripts/default_model_data.py OUT_DIR [--resolution 0.3] [--hold-out PLACE ...]

--hold-out keeps whole "train" places out (no raster, no cells): cities the model never sees, for
benchmarks/accuracy.py --held-out to measure it on (issue 42: at least five unseen cities).

Writes OUT_DIR/<place>.tif (RGB, the source's gaps as an internal mask) and OUT_DIR/labels.gpkg with layers
`buildings`, `trainval_area` (train and validation cells), `val_area`, `test_area` (EPSG:4326, field
`place`), and OUT_DIR/places.csv.
"""

import argparse
import csv
import math
import os
from pathlib import Path

import numpy as np
from osgeo import gdal, ogr, osr
from scipy import ndimage

gdal.UseExceptions()
gdal.SetConfigOption("GDAL_TIFF_INTERNAL_MASK", "YES")
ogr.UseExceptions()
ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("BUILDSEG_DATA", ROOT.parent / "shared" / "data"))
CITIES = DATA / "cities"
CELL = 150.0  # metres
DUBAI_CROP = 400  # metres (nominal): one crop per training group keeps Dubai near a fifth of the samples
DUBAI_MARGIN = 2  # metres eroded from the negatives, so that block edges are never called background
DUBAI_NEGATIVE = (2, 3, 5)  # land, road, water: Dubai's classes that are surely not buildings
WGS84 = osr.SpatialReference()
WGS84.ImportFromEPSG(4326)
WGS84.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)


def cell_role(ix: int, iy: int) -> str:
    k = (ix * 7 + iy * 3) % 8
    return "test" if k in (0, 4) else ("val" if k == 2 else "train")


def utm_of(ds) -> osr.SpatialReference:
    gt = ds.GetGeoTransform()
    src = osr.SpatialReference(wkt=ds.GetProjection())
    src.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    cx, cy = gt[0] + gt[1] * ds.RasterXSize / 2, gt[3] + gt[5] * ds.RasterYSize / 2
    lon, lat, _ = osr.CoordinateTransformation(src, WGS84).TransformPoint(cx, cy)
    utm = osr.SpatialReference()
    utm.ImportFromEPSG((32600 if lat >= 0 else 32700) + int((lon + 180) // 6) + 1)
    utm.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return utm


def warp(place: Path, out: str, resolution: float, pixel_m: float) -> osr.SpatialReference:
    ds = gdal.Open(str(place / "image.tif"))
    utm = utm_of(ds)
    if out is None:  # --areas-only
        return utm
    vrt = out + ".vrt"
    gdal.Warp(vrt, ds, format="VRT", dstSRS=utm.ExportToWkt(), xRes=resolution, yRes=resolution,
              resampleAlg="average" if pixel_m < resolution else "bilinear", dstAlpha=True, targetAlignedPixels=True)
    gdal.Translate(out, vrt, bandList=[1, 2, 3], maskBand=4,
                   creationOptions=["TILED=YES", "COMPRESS=DEFLATE", "BLOCKXSIZE=256", "BLOCKYSIZE=256"])
    os.remove(vrt)
    return utm


def layer_geoms(path: Path, utm) -> list:
    ds = ogr.Open(str(path))
    lyr = ds.GetLayer(0)
    tr = osr.CoordinateTransformation(lyr.GetSpatialRef(), utm)
    out = []
    for f in lyr:
        g = f.GetGeometryRef().Clone()
        g.Transform(tr)
        out.append(g)
    return out


def split_area(area, role: str):
    """The part of `area` (UTM geometry) in cells of `role`."""
    minx, maxx, miny, maxy = area.GetEnvelope()
    parts = ogr.Geometry(ogr.wkbMultiPolygon)
    for ix in range(math.floor(minx / CELL), math.ceil(maxx / CELL)):
        for iy in range(math.floor(miny / CELL), math.ceil(maxy / CELL)):
            if cell_role(ix, iy) != role:
                continue
            ring = ogr.Geometry(ogr.wkbLinearRing)
            for x, y in [(ix, iy), (ix + 1, iy), (ix + 1, iy + 1), (ix, iy + 1), (ix, iy)]:
                ring.AddPoint_2D(x * CELL, y * CELL)
            box = ogr.Geometry(ogr.wkbPolygon)
            box.AddGeometry(ring)
            piece = box.Intersection(area).Buffer(0)
            if piece is not None and not piece.IsEmpty() and piece.GetArea() > 1.0:
                parts = parts.Union(piece)
    return parts


def dubai_crops(out_dir: str, resolution: float, areas_only: bool, blocks: bool):
    """One crop of DUBAI_CROP per Dubai training group (Tiles 1-7), warped to `resolution`. Yields (name, raster
    path or None, labelled area, buildings), areas in EPSG:4326.

    Negatives only (`blocks` False): the part with the most road and water; its labelled area is the land, road
    and water pixels (eroded by DUBAI_MARGIN), no buildings, so the block-level outlines never teach blobs.
    Blocks (`blocks` True): the part with the most building; every labelled pixel counts and the block outlines
    are the buildings, at about a fifth of the samples (a low weight beside the cities' per-house outlines)."""
    scenes = DATA / "dubai" / "scenes"
    wanted = (1,) if blocks else (3, 5)
    for tile in range(1, 8):
        def share(part, tile=tile):  # blocks: within the crop (negatives: over the part, as measured)
            classes = gdal.Open(str(scenes / f"tile{tile}_part{part}_classes.tif")).ReadAsArray()
            return np.isin(classes[:DUBAI_CROP, :DUBAI_CROP] if blocks else classes, wanted).mean()
        part = max(range(1, 10), key=share)
        name = f"dubai-tile{tile}-part{part}"
        image = gdal.Open(str(scenes / f"tile{tile}_part{part}.tif"))
        size = min(DUBAI_CROP, image.RasterXSize), min(DUBAI_CROP, image.RasterYSize)
        raster = None if areas_only else os.path.join(out_dir, f"{name}.tif")
        if raster:
            crop = gdal.Translate("", image, format="VRT", srcWin=[0, 0, *size])
            gdal.Warp(raster, crop, xRes=resolution, yRes=resolution, resampleAlg="bilinear",
                      creationOptions=["TILED=YES", "COMPRESS=DEFLATE", "BLOCKXSIZE=256", "BLOCKYSIZE=256"])
        classes = gdal.Translate("", str(scenes / f"tile{tile}_part{part}_classes.tif"), format="MEM",
                                 srcWin=[0, 0, *size])
        ids = classes.ReadAsArray()
        band = classes.GetRasterBand(1)
        if blocks:
            band.WriteArray((ids > 0).astype(np.uint8))
            area = _polygons_of(classes)
            band.WriteArray((ids == 1).astype(np.uint8))
            yield name, raster, [area], _polygons_of(classes, parts=True)
            continue
        keep = ndimage.binary_erosion(np.isin(ids, DUBAI_NEGATIVE), iterations=DUBAI_MARGIN)
        band.WriteArray(keep.astype(np.uint8))
        yield name, raster, [_polygons_of(classes)], []


def _polygons_of(mask_ds, parts: bool = False):
    """The 1-pixels of a one-band dataset as one multipolygon in EPSG:4326 (`parts`: a list of its polygons)."""
    mem = ogr.GetDriverByName("Memory").CreateDataSource("")
    srs = osr.SpatialReference(wkt=mask_ds.GetProjection())
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    lyr = mem.CreateLayer("p", srs, ogr.wkbPolygon)
    lyr.CreateField(ogr.FieldDefn("v", ogr.OFTInteger))
    band = mask_ds.GetRasterBand(1)
    gdal.Polygonize(band, band, lyr, 0)
    to_wgs = osr.CoordinateTransformation(srs, WGS84)
    polygons = []
    for f in lyr:
        g = f.GetGeometryRef().Clone()
        g.Transform(to_wgs)
        polygons.append(g)
    if parts:
        return polygons
    area = ogr.Geometry(ogr.wkbMultiPolygon)
    for g in polygons:
        area.AddGeometry(g)
    return area.Buffer(0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--resolution", type=float, default=0.3)
    ap.add_argument("--areas-only", action="store_true", help="write labels.gpkg only (no rasters)")
    dubai = ap.add_mutually_exclusive_group()
    dubai.add_argument("--dubai-negatives", action="store_true",
                       help="add Dubai Tiles 1-7 crops whose land, road and water are background (no buildings)")
    dubai.add_argument("--dubai-blocks", action="store_true",
                       help="add Dubai Tiles 1-7 crops with their block-level building outlines as buildings")
    ap.add_argument("--hold-out", nargs="+", default=[], metavar="PLACE",
                    help="\"train\" places of cities/index.csv left out entirely (never trained on)")
    args = ap.parse_args()
    rows = list(csv.DictReader(open(CITIES / "index.csv")))
    unknown = set(args.hold_out) - {r["place"] for r in rows if r["use"] == "train"}
    if unknown:
        ap.error(f"--hold-out: not a \"train\" place of {CITIES / 'index.csv'}: {', '.join(sorted(unknown))}")
    os.makedirs(args.out, exist_ok=True)
    gpkg = os.path.join(args.out, "labels.gpkg")
    if os.path.exists(gpkg):
        os.remove(gpkg)
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(gpkg)
    layers = {}
    for name in ("buildings", "trainval_area", "val_area", "test_area"):
        lyr = ds.CreateLayer(name, WGS84, ogr.wkbMultiPolygon)
        lyr.CreateField(ogr.FieldDefn("place", ogr.OFTString))
        layers[name] = lyr
    summary = []
    for row in rows:
        if row["use"] != "train" or row["place"] in args.hold_out:
            continue
        place = CITIES / row["place"]
        out = None if args.areas_only else os.path.join(args.out, f"{row['place']}.tif")
        utm = warp(place, out, args.resolution, float(row["pixel_m"]))
        to_wgs = osr.CoordinateTransformation(utm, WGS84)
        area = ogr.Geometry(ogr.wkbMultiPolygon)
        for g in layer_geoms(place / "labelled_area.gpkg", utm):
            area = area.Union(g)
        pieces = {"buildings": layer_geoms(place / "buildings.gpkg", utm)}
        for role in ("train", "val", "test"):
            pieces[f"{role}_area"] = [split_area(area, role)]
        pieces["trainval_area"] = [pieces.pop("train_area")[0].Union(pieces["val_area"][0])]
        for name, geoms in pieces.items():
            for g in geoms:
                if g is None or g.IsEmpty():
                    continue
                g = g.Clone()
                g.Transform(to_wgs)
                f = ogr.Feature(layers[name].GetLayerDefn())
                f.SetField("place", row["place"])
                f.SetGeometry(ogr.ForceToMultiPolygon(g))
                layers[name].CreateFeature(f)
        summary.append({"place": row["place"], "raster": out, "utm": utm.GetAuthorityCode(None),
                        **{f"{r}_m2": round(pieces[f"{r}_area"][0].GetArea()) for r in ("trainval", "val", "test")}})
        print(summary[-1], flush=True)
    if args.dubai_negatives or args.dubai_blocks:
        for name, raster, area, buildings in dubai_crops(args.out, args.resolution, args.areas_only,
                                                          blocks=args.dubai_blocks):
            for layer, geom in [("trainval_area", g) for g in area] + [("buildings", g) for g in buildings]:
                if geom.IsEmpty():
                    continue
                f = ogr.Feature(layers[layer].GetLayerDefn())
                f.SetField("place", name)
                f.SetGeometry(ogr.ForceToMultiPolygon(geom))
                layers[layer].CreateFeature(f)
            summary.append({"place": name, "raster": raster, "utm": "32640 (nominal)",
                            "trainval_m2": "", "val_m2": 0, "test_m2": 0})
            print(summary[-1], flush=True)
    ds = None
    with open(os.path.join(args.out, "places.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(summary[0]))
        w.writeheader()
        w.writerows(summary)


if __name__ == "__main__":
    main()
