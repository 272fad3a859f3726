"""Folder datasets in the layouts people download, detected automatically, with a summary before training.

A layout names the image and label subfolders and how label values become training classes (0 background,
1 building, IGNORE unlabelled). Folders are searched to a few levels below the chosen one, so `train/`, `val/`
and LoveDA's `Train/Urban/` splits are found; a split whose path says val/valid/validation validates, test
splits are left out (they are for evaluation).
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import BuildSegError
from .labels import IGNORE, PolygonLabels, RasterLabels
from .scene import Scene

IMAGE_EXTS = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".jp2", ".vrt")
VECTOR_EXTS = (".geojson", ".json", ".gpkg")
SEARCH_DEPTH = 3


@dataclass(frozen=True)
class Layout:
    name: str
    images: tuple  # image subfolder names (any of)
    labels: tuple  # label subfolder names (any of)
    vector: bool = False  # labels are one vector file of buildings per image tile
    class_map: dict = field(default=None, hash=False)  # raw label value -> class; None: 0/1 or 0/255 masks
    ignore: tuple = ()  # raw values that mean "no data"
    source: str = ""


LAYOUTS = [
    Layout("BuildSeg", ("images",), ("masks",), source="'Prepare training tiles', Massachusetts Buildings"),
    Layout("Inria", ("images",), ("gt",), source="Inria Aerial Image Labeling (building = 255)"),
    Layout("WHU", ("image",), ("label",), source="WHU Building dataset (building = 255)"),
    Layout("LoveDA", ("images_png",), ("masks_png",), class_map={1: 0, 2: 1, 3: 0, 4: 0, 5: 0, 6: 0, 7: 0},
           ignore=(0,), source="LoveDA (0 no-data, 2 building, other land covers background)"),
    Layout("SpaceNet", ("PS-RGB", "RGB-PanSharpen", "images", "image", "tiles"),
           ("geojson_buildings", "geojson", "buildings", "labels"), vector=True,
           source="SpaceNet (image tiles + one GeoJSON of buildings per tile, paired by 'imgN')"),
]
IMG_ID = re.compile(r"img\d+", re.IGNORECASE)


@dataclass
class Split:
    layout: Layout
    images: Path
    labels: Path
    role: str  # train | val


def detect(folder: str) -> list:
    """Every (layout, image folder, label folder, role) under `folder`."""
    root = Path(folder)
    if not root.is_dir():
        raise BuildSegError(f"{folder} is not a folder: choose the dataset's top folder.")
    found = []
    for d in _folders(root, SEARCH_DEPTH):
        role = _role(d.relative_to(root))
        if role is None:
            continue
        for layout in LAYOUTS:
            images = _child(d, layout.images, IMAGE_EXTS)
            labels = _child(d, layout.labels, VECTOR_EXTS if layout.vector else IMAGE_EXTS)
            if images and labels and images != labels:
                found.append(Split(layout, images, labels, role))
                break
    if not found:
        names = "; ".join(f"{lt.name}: {'/'.join(lt.images)}/ + {'/'.join(lt.labels)}/" for lt in LAYOUTS)
        raise BuildSegError(f"No dataset layout found in {folder}. Known layouts: {names}. Point to the folder "
                            "that holds these subfolders (or their train/val splits).")
    return found


def _folders(root: Path, depth: int):
    yield root
    if depth > 0:
        for d in sorted(p for p in root.iterdir() if p.is_dir()):
            yield from _folders(d, depth - 1)


def _role(rel: Path):
    parts = [p.lower() for p in rel.parts]
    if any(p in ("test", "testing") for p in parts):
        return None
    return "val" if any(p in ("val", "valid", "validation") for p in parts) else "train"


def _child(d: Path, names, exts):
    for name in names:
        sub = d / name
        if sub.is_dir() and any(p.suffix.lower() in exts for p in sub.iterdir()):
            return sub
    return None


def scenes(folder: str, palette=None, found: list = None) -> list:
    """Training scenes of a folder dataset in any known layout (`found`: its detect(), when already made)."""
    out = []
    for split in found or detect(folder):
        for img, label in _pairs(split)[0]:
            out.append(_scene(split, img, label, palette))
    if not out:
        raise BuildSegError(f"No image in {folder} has a label file paired with it (same name, or the same "
                            "SpaceNet 'imgN' id).")
    return out


def unpaired(folder: str, found: list = None) -> list:
    """Every image without a label file and every label file without an image, under `folder`."""
    return sorted(str(p) for split in found or detect(folder) for p in _pairs(split)[1])


def _pairs(split: Split) -> tuple:
    """([(image, label file)], [files without a partner]): masks pair by file name, SpaceNet vectors by 'imgN'."""
    def key(p: Path):
        if not split.layout.vector:
            return p.stem
        m = IMG_ID.search(p.stem)
        return m.group(0).lower() if m else None

    exts = VECTOR_EXTS if split.layout.vector else IMAGE_EXTS
    images = sorted(p for p in split.images.iterdir() if p.suffix.lower() in IMAGE_EXTS)
    labels = {key(p): p for p in split.labels.iterdir() if p.suffix.lower() in exts}
    pairs = [(img, labels[key(img)]) for img in images if key(img) is not None and key(img) in labels]
    paired = {label for _, label in pairs}
    lonely = [img for img in images if key(img) is None or key(img) not in labels]
    lonely += [p for p in split.labels.iterdir() if p.suffix.lower() in exts and p not in paired]
    return pairs, lonely


def _scene(split: Split, img: Path, label: Path, palette) -> Scene:
    if split.layout.vector:
        return Scene(str(img), PolygonLabels(_buildings(label, img)), role=split.role)
    _check_same_grid(img, label)
    lt = split.layout
    return Scene(str(img), RasterLabels(str(label), palette, ignore_values=lt.ignore, class_map=lt.class_map),
                 role=split.role)


def _check_same_grid(image: Path, mask: Path) -> None:
    import rasterio

    with rasterio.open(image) as a, rasterio.open(mask) as b:
        if (a.width, a.height) != (b.width, b.height):
            raise BuildSegError(f"The mask {mask.name} is {b.width} x {b.height} px but its image {image.name} is "
                                f"{a.width} x {a.height} px: masks must be on their image's grid (resample or "
                                "re-export them).")


def _buildings(path: Path, image: Path) -> list:
    """The buildings of one label file as (GeoJSON in the image's CRS, 1); RFC 7946 files are EPSG:4326."""
    import rasterio
    from rasterio.warp import transform_geom

    with rasterio.open(image) as src:
        dst = src.crs
    if path.suffix.lower() == ".gpkg":
        from osgeo import ogr

        ds = ogr.Open(str(path))
        lyr = ds.GetLayer(0)
        srs = lyr.GetSpatialRef()
        crs = srs.ExportToWkt() if srs else "EPSG:4326"
        geoms = [json.loads(f.GetGeometryRef().ExportToJson()) for f in lyr if f.GetGeometryRef() is not None]
    else:
        data = json.loads(path.read_text())
        crs = (data.get("crs") or {}).get("properties", {}).get("name", "EPSG:4326")
        geoms = [f["geometry"] for f in data.get("features", []) if f.get("geometry")]
    polys = [g for g in geoms if g["type"] in ("Polygon", "MultiPolygon")]
    if dst is None:
        raise BuildSegError(f"{image} has no CRS: SpaceNet tiles must be georeferenced to place their buildings.")
    return [(transform_geom(crs, dst, g), 1) for g in polys]


def summary(scene_list, sample_px: int = 1024) -> dict:
    """{role: {"images", "pixels", "building_share", "labelled_share"}} (shares from every f-th pixel); refuses
    a dataset without a building pixel."""
    import rasterio

    out = {}
    for s in scene_list:
        with rasterio.open(s.raster) as src:
            h, w = src.height, src.width
            tr = src.transform
        f = max(1, max(h, w) // sample_px)
        lab = s.labels.read(tr, 0, 0, h, w)[::f, ::f]
        r = out.setdefault(s.role, {"images": 0, "pixels": 0, "building": 0, "labelled": 0, "sampled": 0})
        r["images"] += 1
        r["pixels"] += h * w
        r["sampled"] += lab.size
        r["building"] += int((lab == 1).sum())
        r["labelled"] += int((lab != IGNORE).sum())
    for r in out.values():
        r["building_share"] = r.pop("building") / max(r["sampled"], 1)
        r["labelled_share"] = r.pop("labelled") / max(r.pop("sampled"), 1)
    if not any(r["building_share"] > 0 for r in out.values()):
        raise BuildSegError("No building pixel found in the dataset's labels: check that the masks hold the "
                            "building value of their layout (1, 255, or LoveDA's 2) and that the label files "
                            "pair with the images.")
    return out


def describe(found: list, summ: dict, lonely: list = ()) -> str:
    layouts = sorted({s.layout.name for s in found})
    lines = [f"Dataset layout: {', '.join(layouts)}"]
    if lonely:
        lines.append(f"  {len(lonely)} file(s) without a partner, left out: " + ", ".join(lonely))
    for role, r in sorted(summ.items()):
        lines.append(f"  {role}: {r['images']} image(s), {r['pixels'] / 1e6:.1f} Mpx, "
                     f"{100 * r['building_share']:.1f}% building pixels, {100 * r['labelled_share']:.0f}% labelled")
    return "\n".join(lines)
