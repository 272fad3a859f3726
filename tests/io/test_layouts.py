"""Folder datasets in downloaded layouts (Inria, WHU, LoveDA, SpaceNet), built from real Dubai scenes and the
SpaceNet fixtures: detected, building pixels counted, trained on; refused when they hold no building."""

import json
import shutil

import numpy as np
import pytest
import rasterio

from conftest import DATA, dubai, recorder

SCENES = ("tile1_part1", "tile2_part1")
LOVEDA_OF_DUBAI = {0: 0, 1: 2, 2: 5, 3: 3, 4: 6, 5: 4}  # Dubai class id -> LoveDA id (0 no-data, 2 building)


def _write(path, data, like, driver="GTiff"):
    with rasterio.open(like) as src:
        profile = {"driver": driver, "width": src.width, "height": src.height, "count": 1, "dtype": "uint8"}
        if driver == "GTiff":
            profile.update(crs=src.crs, transform=src.transform)
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data.astype(np.uint8), 1)


def _classes(name):
    with rasterio.open(dubai(name)[:-4] + "_classes.tif") as c:
        return c.read(1)


def _building_share(names):
    """Building pixels over labelled pixels, counted from Dubai's own class rasters."""
    cls = [_classes(n) for n in names]
    return sum(int((c == 1).sum()) for c in cls) / sum(c.size for c in cls)


def binary_folder(root, images, labels, value):
    for n in SCENES:
        (root / images).mkdir(parents=True, exist_ok=True)
        shutil.copy(dubai(n), root / images / f"{n}.tif")
        _write(root / labels / f"{n}.tif", np.where(_classes(n) == 1, value, 0), dubai(n))
    return root


@pytest.mark.parametrize("layout,images,labels,value", [("Inria", "images", "gt", 255), ("WHU", "image", "label", 255),
                                                        ("BuildSeg", "images", "masks", 1)])
def test_binary_mask_layouts_count_buildings(tmp_path, layout, images, labels, value):
    from buildseg.engine.io import layouts

    root = binary_folder(tmp_path / "ds", images, labels, value)
    found = layouts.detect(str(root))
    assert [(s.layout.name, s.role) for s in found] == [(layout, "train")]
    summary = layouts.summary(layouts.scenes(str(root)))
    share = summary["train"]["building_share"]
    assert summary["train"]["images"] == 2 and share > 0.02
    assert share == pytest.approx(_building_share(SCENES), rel=0.15)


def test_inria_folder_trains_with_its_buildings(run_alg, tmp_path):
    root = binary_folder(tmp_path / "inria" / "train", "images", "gt", 255)
    binary_folder(tmp_path / "inria" / "val", "images", "gt", 255)
    feedback = recorder()
    res = run_alg("buildseg:trainfrommasks", {
        "DATASET_FOLDER": str(root.parent), "ARCHITECTURE": 0, "FROM_SCRATCH": True, "TILE_SIZE": 64, "EPOCHS": 1,
        "TILES_PER_EPOCH": 8, "BATCH_SIZE": 4, "OUTPUT_MODEL": str(tmp_path / "m.safetensors")}, feedback=feedback)
    log = "\n".join(feedback.lines)
    assert "Dataset layout: Inria" in log and "train: 2 image(s)" in log and "val: 2 image(s)" in log
    from buildseg.engine.models import modelfile

    info = modelfile.read_info(res["OUTPUT_MODEL"])
    assert [c["name"] for c in info.classes][:2] == ["background", "building"]


def loveda_folder(tmp_path):
    """A LoveDA folder as the dataset ships it: PNG images and masks with no georeferencing at all."""
    for split, n in (("Train", SCENES[0]), ("Val", SCENES[1])):
        d = tmp_path / "LoveDA" / split / "Urban"
        with rasterio.open(dubai(n)) as src:
            rgb = src.read()
        (d / "images_png").mkdir(parents=True)
        with rasterio.open(d / "images_png" / "1.png", "w", driver="PNG", width=rgb.shape[2], height=rgb.shape[1],
                           count=3, dtype="uint8") as dst:
            dst.write(rgb)
        lut = np.zeros(256, np.uint8)
        for k, v in LOVEDA_OF_DUBAI.items():
            lut[k] = v
        _write(d / "masks_png" / "1.png", lut[_classes(n)], dubai(n), driver="PNG")
    return tmp_path / "LoveDA"


def test_loveda_layout_maps_building_and_nodata(tmp_path):
    from buildseg.engine.io import layouts
    from buildseg.engine.io.labels import IGNORE

    loveda_folder(tmp_path)
    found = layouts.detect(str(tmp_path / "LoveDA"))
    assert sorted((s.layout.name, s.role) for s in found) == [("LoveDA", "train"), ("LoveDA", "val")]
    scenes = layouts.scenes(str(tmp_path / "LoveDA"))
    val = next(s for s in scenes if s.role == "val")
    cls = _classes(SCENES[1])
    lab = val.labels.read(rasterio.Affine.identity(), 0, 0, *cls.shape)
    assert ((lab == 1) == (cls == 1)).all() and ((lab == IGNORE) == (cls == 0)).all()
    assert set(np.unique(lab[cls > 1]).tolist()) == {0}  # roads, water, land, vegetation: background


def test_loveda_as_shipped_trains(run_alg, tmp_path):
    """PNG tiles without a CRS or geotransform (LoveDA as downloaded) train: their pixels are used as they are."""
    from buildseg.engine.models import modelfile

    root = loveda_folder(tmp_path)
    res = run_alg("buildseg:trainfrommasks", {
        "DATASET_FOLDER": str(root), "ARCHITECTURE": 0, "FROM_SCRATCH": True, "TILE_SIZE": 64, "EPOCHS": 1,
        "TILES_PER_EPOCH": 8, "BATCH_SIZE": 4, "OUTPUT_MODEL": str(tmp_path / "m.safetensors")})
    info = modelfile.read_info(res["OUTPUT_MODEL"])
    assert info.training["epochs_run"] == 1 and [c["name"] for c in info.classes][:2] == ["background", "building"]


def test_spacenet_layout_pairs_tiles_with_their_geojson(tmp_path):
    from osgeo import gdal

    from buildseg.engine.io import layouts

    clip = DATA / "fixtures" / "gdl-spacenet" / "SpaceNet_AOI_2_Las_Vegas-056155973080_01_P001-WV03-RGB.tif"
    gpkg = clip.with_name("SpaceNet_AOI_2_Las_Vegas-056155973080_01_P001-WV03.gpkg")
    root = tmp_path / "AOI_2_Vegas_Train"
    (root / "RGB-PanSharpen").mkdir(parents=True)
    (root / "geojson" / "buildings").mkdir(parents=True)
    shutil.copy(clip, root / "RGB-PanSharpen" / "RGB-PanSharpen_AOI_2_Vegas_img7.tif")
    gdal.VectorTranslate(str(root / "geojson" / "buildings_AOI_2_Vegas_img7.geojson"), str(gpkg), format="GeoJSON",
                         dstSRS="EPSG:4326")
    (root / "geojson" / "buildings").rmdir()
    atlanta = sorted(clip.parent.glob("SN4_*Atlanta*_clipped.tif"))[0]  # a second tile, in a UTM CRS
    shutil.copy(atlanta, root / "RGB-PanSharpen" / "RGB-PanSharpen_AOI_2_Vegas_img8.tif")
    gdal.VectorTranslate(str(root / "geojson" / "buildings_AOI_2_Vegas_img8.geojson"),
                         str(sorted(clip.parent.glob("SN4_*Atlanta*buildings*.geojson"))[0]), format="GeoJSON",
                         dstSRS="EPSG:4326")
    found = layouts.detect(str(root))
    assert [(s.layout.name, s.images.name) for s in found] == [("SpaceNet", "RGB-PanSharpen")]
    scenes = layouts.scenes(str(root))
    assert [s.raster.rsplit("_", 1)[1] for s in scenes] == ["img7.tif", "img8.tif"]
    for scene, n in zip(scenes, (7, 8)):
        features = json.loads((root / "geojson" / f"buildings_AOI_2_Vegas_img{n}.geojson").read_text())["features"]
        assert len(scene.labels.shapes) == len(features) >= 3
        with rasterio.open(scene.raster) as src:
            lab = scene.labels.read(src.transform, 0, 0, src.height, src.width)
        assert 0.02 < (lab == 1).mean() < 0.8  # the buildings land on the tile, in its CRS


def test_dataset_without_buildings_is_refused(tmp_path):
    from buildseg.engine.core.errors import BuildSegError
    from buildseg.engine.io import layouts

    root = binary_folder(tmp_path / "ds", "images", "gt", 0)
    with pytest.raises(BuildSegError, match="No building pixel"):
        layouts.summary(layouts.scenes(str(root)))
    with pytest.raises(BuildSegError, match="No dataset layout found.*Inria"):
        layouts.detect(str(tmp_path / "ds" / "images"))


def test_unpaired_files_are_reported_and_misaligned_masks_refused(tmp_path):
    from buildseg.engine.core.errors import BuildSegError
    from buildseg.engine.io import layouts

    root = binary_folder(tmp_path / "ds", "image", "label", 255)
    (root / "label" / f"{SCENES[0]}.tif").rename(root / "label" / "renamed.tif")  # names that do not pair
    assert layouts.unpaired(str(root)) == sorted([str(root / "image" / f"{SCENES[0]}.tif"),
                                                 str(root / "label" / "renamed.tif")])
    assert len(layouts.scenes(str(root))) == 1
    with rasterio.open(root / "label" / "renamed.tif") as m:  # a half-size mask under the image's name
        half = m.read(1)[::2, ::2]
    (root / "label" / "renamed.tif").unlink()
    with rasterio.open(root / "label" / f"{SCENES[0]}.tif", "w", driver="GTiff", width=half.shape[1],
                       height=half.shape[0], count=1, dtype="uint8") as dst:
        dst.write(half, 1)
    with pytest.raises(BuildSegError, match=f"mask {SCENES[0]}.tif is .* but its image .* on their image's grid"):
        layouts.scenes(str(root))


@pytest.mark.parametrize("kind", ["none", "dataset mask", "nodata per band", "alpha"])
def test_raster_windows_are_valid_where_any_band_holds_data(tmp_path, kind):
    """A window is valid where any band holds data, whatever the raster's kind of mask (none, one internal mask
    for all bands, nodata per band, an alpha band): the same pixels as every band's mask read and combined."""
    from buildseg.engine.io.raster import RasterSource

    with rasterio.open(DATA / "cities" / "nairobi" / "image.tif") as src:  # a real scene with a dataset mask
        data, mask = src.read(window=((600, 900), (0, 300))), src.dataset_mask(window=((600, 900), (0, 300)))
        profile = {"driver": "GTiff", "width": 300, "height": 300, "count": 3, "dtype": "uint8", "crs": src.crs,
                   "transform": src.window_transform(((600, 900), (0, 300)))}
    data[0, :, :50] = 0  # a 0 in one band is data while the others hold some
    path = str(tmp_path / "scene.tif")
    if kind == "nodata per band":
        data[:, mask == 0] = 0
        profile["nodata"] = 0
    if kind == "alpha":
        data = np.concatenate([data, mask[None]])
        profile.update(count=4, photometric="RGB", alpha="YES")
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        if kind == "dataset mask":
            dst.write_mask(mask)
    with rasterio.open(path) as ds:
        expected = np.any([ds.read_masks(b) > 0 for b in (1, 2, 3)], axis=0)
    with RasterSource(path) as src:
        _, valid = src.read([1, 2, 3], 0, 0, 300, 300)
    assert np.array_equal(valid, expected) and (kind == "none") == bool(valid.all())
