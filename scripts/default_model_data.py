"""Prepare ../shared/data/cities for the default model: every training place warped to one ground
resolution in its UTM zone, and its labelled area split into train, validation and test cells.

The test cells (a quarter of each place, in cells of CELL metres) are never trained on: benchmarks/accuracy.py
measures the model on them, beside places it never saw at all (Austin, the SpaceNet and Massachusetts clips).

    /usr/bin/python3 scripts/default_model_data.py OUT_DIR [--resolution 0.3]

Writes OUT_DIR/<place>.tif (RGB, the source's gaps as an internal mask) and OUT_DIR/labels.gpkg with layers
`buildings`, `trainval_area` (train and validation cells), `val_area`, `test_area` (EPSG:4326, field
`place`), and OUT_DIR/places.csv.
"""

import argparse
import csv
import math
import os
from pathlib import Path

from osgeo import gdal, ogr, osr

gdal.UseExceptions()
gdal.SetConfigOption("GDAL_TIFF_INTERNAL_MASK", "YES")
ogr.UseExceptions()
ROOT = Path(__file__).resolve().parent.parent
CITIES = Path(os.environ.get("BUILDSEG_DATA", ROOT.parent / "shared" / "data")) / "cities"
CELL = 150.0  # metres
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--resolution", type=float, default=0.3)
    ap.add_argument("--areas-only", action="store_true", help="write labels.gpkg only (no rasters)")
    args = ap.parse_args()
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
    rows = list(csv.DictReader(open(CITIES / "index.csv")))
    summary = []
    for row in rows:
        if row["use"] != "train":
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
    ds = None
    with open(os.path.join(args.out, "places.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(summary[0]))
        w.writeheader()
        w.writerows(summary)


if __name__ == "__main__":
    main()
