"""Bad input, table-driven, through Processing: every algorithm fails with a message naming the problem and
leaves no output behind, or (for inputs that must work) works."""

import os
import pickle
import shutil

import numpy as np
import pytest
import rasterio

from conftest import crop, dubai, dubai_labels, edited_header_copy, newer_format_copy, recorder

EXTRACT, HEATMAP, TRAIN = "buildseg:extractbuildings", "buildseg:exportheatmap", "buildseg:trainmodel"


@pytest.fixture(scope="module")
def files(tmp_path_factory, tiny_model):
    """Bad (and awkward but valid) inputs, made once from real Dubai imagery."""
    d = tmp_path_factory.mktemp("inputs")
    good = crop(dubai("tile1_part1"), str(d / "good.tif"), 100, 100, 300, 300)
    f = {"good": good, "model": tiny_model, "marker": str(d / "pwned")}
    f["one_band"] = crop(good, str(d / "one_band.tif"), 0, 0, 300, 300, bandList=[1])
    f["no_crs"] = crop(good, str(d / "no_crs.tif"), 0, 0, 300, 300)
    from osgeo import gdal

    ds = gdal.Open(f["no_crs"], gdal.GA_Update)
    ds.SetProjection("")
    ds = None
    f["one_pixel"] = crop(good, str(d / "one_pixel.tif"), 10, 10, 1, 1)
    f["small"] = crop(good, str(d / "small.tif"), 0, 0, 100, 90)
    nodata = str(d / "all_nodata.tif")
    with rasterio.open(good) as src:
        profile = dict(src.profile, nodata=0, compress="deflate")
        profile.pop("photometric", None)
        with rasterio.open(nodata, "w", **profile) as dst:
            dst.write(np.zeros((3, src.height, src.width), np.uint8))
        data = src.read().astype(np.float32)
        data[:, 50:90, 50:90] = np.nan
        data[:, 200:210, :] = np.inf
        profile.update(dtype="float32", nodata=None)
        with rasterio.open(str(d / "nan.tif"), "w", **profile) as dst:
            dst.write(data)
    f["all_nodata"], f["nan"] = nodata, str(d / "nan.tif")
    blob = open(tiny_model, "rb").read()
    (d / "truncated.safetensors").write_bytes(blob[: len(blob) // 2])
    (d / "not_a_model.safetensors").write_bytes(b"GIF89a" + bytes(500))
    marker = f["marker"]

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    (d / "pickle.safetensors").write_bytes(pickle.dumps({"state_dict": Evil()}))
    for name in ("truncated", "not_a_model", "pickle"):
        f[name] = str(d / f"{name}.safetensors")
    f["newer"] = newer_format_copy(tiny_model, str(d / "newer.safetensors"))
    f["bowtie"] = _labels_with_bowtie(dubai_labels("tile1_part1"), str(d / "bowtie.gpkg"))
    f["labels"] = dubai_labels("tile1_part1")
    f["far_labels"] = dubai_labels("tile3_part2")  # another 5 km cell: no overlap
    f["empty_labels"] = str(d / "empty.gpkg")
    gdal.VectorTranslate(f["empty_labels"], f["labels"], format="GPKG", where="1 = 0")
    f["points"], f["lines"] = str(d / "points.gpkg"), str(d / "lines.gpkg")
    gdal.VectorTranslate(f["points"], f["labels"], format="GPKG", SQLStatement="SELECT ST_Centroid(geom) AS geom "
                         "FROM buildings", SQLDialect="SQLITE", layerName="points")
    gdal.VectorTranslate(f["lines"], f["labels"], format="GPKG", SQLStatement="SELECT ST_Boundary(geom) AS geom "
                         "FROM buildings", SQLDialect="SQLITE", layerName="lines")
    f["std0"] = edited_header_copy(tiny_model, str(d / "std0.safetensors"), std=[0.0, 1.0, 1.0])
    f["nan_mean"] = edited_header_copy(tiny_model, str(d / "nan_mean.safetensors"), mean=[0.0, "NaN", 1.0])
    f["mask255"] = _mask_0_255(good, f["labels"], str(d / "mask255.tif"))
    f["prob_255"] = crop(good, str(d / "prob_255.tif"), 0, 0, 300, 300, bandList=[1], outputType=gdal.GDT_Float32)
    f["far_area"] = f["far_labels"]  # a labelled area in another 5 km cell
    with rasterio.open(good) as src:
        x0, _, _, y1 = src.bounds
    f["huge_vrt"] = str(d / "huge.vrt")  # 400,000 px a side at 1 m: days of work, terabytes on the model's grid
    gdal.BuildVRT(f["huge_vrt"], [good], outputBounds=(x0, y1 - 400000, x0 + 400000, y1))
    f["flat_aoi"] = _zero_area_polygon(f["labels"], str(d / "flat_aoi.gpkg"))
    (d / "empty.pt").write_bytes(b"")
    f["empty_weights"] = str(d / "empty.pt")
    f["negative_tile"] = edited_header_copy(tiny_model, str(d / "negative_tile.safetensors"), tile_size=-64)
    f["onnx_5d"] = _onnx_with_output(str(d / "five_d.onnx"), 5)
    f["onnx_small"] = _onnx_with_output(str(d / "small_out.onnx"), 4, pool=True)
    return f


def _zero_area_polygon(labels, out):
    """A polygon layer holding one ring with no area (three points on a line) over the raster."""
    from osgeo import gdal, ogr

    gdal.VectorTranslate(out, labels, format="GPKG", where="1 = 0")
    ds = ogr.Open(out, 1)
    layer = ds.GetLayer(0)
    ref_ds = ogr.Open(labels)  # kept open while its layer is read
    x0, _, _, y1 = ref_ds.GetLayer(0).GetExtent()
    ref_ds = None
    feat = ogr.Feature(layer.GetLayerDefn())
    feat.SetGeometry(ogr.CreateGeometryFromWkt(
        f"MULTIPOLYGON((({x0 + 50} {y1 - 50},{x0 + 80} {y1 - 50},{x0 + 110} {y1 - 50},{x0 + 50} {y1 - 50})))"))
    layer.CreateFeature(feat)
    feat = layer = ds = None
    return out


def _onnx_with_output(path, rank, pool=False):
    """A foreign ONNX model (no BuildSeg metadata) taking (N, 3, H, W): its output has `rank` dimensions, or (with
    `pool`) is half the input's size."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[1, 1])]
    w = helper.make_tensor("w", TensorProto.FLOAT, [2, 3, 1, 1], [0.1] * 6)
    last = "c"
    if pool:
        nodes.append(helper.make_node("MaxPool", ["c"], ["p"], kernel_shape=[2, 2], strides=[2, 2]))
        last = "p"
    if rank == 5:
        axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
        nodes.append(helper.make_node("Unsqueeze", [last, "axes"], ["y"]))
        inits = [w, axes]
    else:
        nodes.append(helper.make_node("Identity", [last], ["y"]))
        inits = [w]
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    graph = helper.make_graph(nodes, "foreign", [x], [y], initializer=inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path)
    return path


def _mask_0_255(raster, labels, out):
    """The labels as a WHU / Inria style mask on the raster's grid: building 255, background 0."""
    from osgeo import gdal

    src = gdal.Open(raster)
    ds = gdal.GetDriverByName("GTiff").Create(out, src.RasterXSize, src.RasterYSize, 1, gdal.GDT_Byte)
    ds.SetGeoTransform(src.GetGeoTransform())
    ds.SetProjection(src.GetProjection())
    gdal.Rasterize(ds, labels, burnValues=[255])
    ds = None
    return out


def _labels_with_bowtie(src, out):
    """The real labels plus a self-intersecting 'bow tie' polygon over the raster."""
    from osgeo import gdal, ogr

    gdal.VectorTranslate(out, src, format="GPKG")
    ds = ogr.Open(out, 1)
    layer = ds.GetLayer(0)
    x0, y1 = layer.GetExtent()[0], layer.GetExtent()[3]
    feat = ogr.Feature(layer.GetLayerDefn())
    feat.SetGeometry(ogr.CreateGeometryFromWkt(
        f"POLYGON(({x0 + 150} {y1 - 150},{x0 + 180} {y1 - 180},{x0 + 180} {y1 - 150},{x0 + 150} {y1 - 180},"
        f"{x0 + 150} {y1 - 150}))"))
    layer.CreateFeature(feat)
    feat = layer = ds = None
    return out


def _read_only_folder(tmp_path):
    """A folder nobody may write to (root ignores permission bits, so root gets /proc)."""
    if os.geteuid() == 0:
        return "/proc"
    ro = tmp_path / "read_only"
    ro.mkdir()
    ro.chmod(0o555)
    return str(ro)


# (id, algorithm, parameters: {name: key in `files` | "@out/<name>" | "@ro/<name>" | "@missing/<name>" | value},
#  expected message (regex) or None when the input must work)
_E = {"INPUT": "good", "MODEL": "model", "TILE_SIZE": 128, "OUTPUT_MASK": "@out/mask.tif",
      "OUTPUT_POLYGONS": "@out/buildings.gpkg"}
_H = {"INPUT": "good", "MODEL": "model", "MODE": 0, "TILE_SIZE": 128, "OUTPUT": "@out/heat.tif"}
_T = {"ALIGN_LABELS": False, "INPUT": ["good"], "LABELS": "labels", "MODEL": "model", "TILE_SIZE": 64, "EPOCHS": 1,
      "TILES_PER_EPOCH": 4, "BATCH_SIZE": 4, "VAL_FRACTION": 0, "OUTPUT_MODEL": "@out/m.safetensors"}
CASES = [
    ("extract-wrong-band-count", EXTRACT, dict(_E, INPUT="one_band"), "feeds its one band to every input"),
    ("extract-no-crs", EXTRACT, dict(_E, INPUT="no_crs"), "no coordinate reference system"),
    ("extract-all-nodata", EXTRACT, dict(_E, INPUT="all_nodata"), "nodata everywhere"),
    ("extract-1x1", EXTRACT, dict(_E, INPUT="one_pixel"), "too small"),
    ("extract-huge-tile-small-raster", EXTRACT, dict(_E, TILE_SIZE=8192), None),  # cut to the raster, runs
    ("extract-model-truncated", EXTRACT, dict(_E, MODEL="truncated"), "truncated"),
    ("extract-not-a-model", EXTRACT, dict(_E, MODEL="not_a_model"), "not a BuildSeg model"),
    ("extract-pickle-model", EXTRACT, dict(_E, MODEL="pickle"), "pickle"),
    ("extract-newer-model", EXTRACT, dict(_E, MODEL="newer"), "newer BuildSeg"),
    ("extract-missing-folder", EXTRACT, dict(_E, OUTPUT_MASK="@missing/mask.tif"), "does not exist"),
    ("extract-read-only-folder", EXTRACT, dict(_E, OUTPUT_MASK="@ro/mask.tif"), "not writable"),
    ("extract-output-is-input", EXTRACT, dict(_E, INPUT="@out/input.tif", OUTPUT_MASK="@out/input.tif"),
     "never overwrites"),
    ("extract-cuda-missing", EXTRACT, dict(_E, DEVICE=2), "no CUDA GPU"),
    ("extract-nan-inf", EXTRACT, dict(_E, INPUT="nan"), None),
    ("extract-smaller-than-tile", EXTRACT, dict(_E, INPUT="small", TILE_SIZE=256), None),
    ("heatmap-wrong-band-count", HEATMAP, dict(_H, INPUT="one_band"), "expects 3 band"),
    ("heatmap-pickle-model", HEATMAP, dict(_H, MODEL="pickle"), "pickle"),
    ("heatmap-all-nodata", HEATMAP, dict(_H, INPUT="all_nodata"), "nodata everywhere"),
    ("heatmap-output-is-input", HEATMAP, dict(_H, INPUT="@out/input.tif", OUTPUT="@out/input.tif"),
     "never overwrites"),
    ("train-no-overlap", TRAIN, dict(_T, LABELS="far_labels"), "do not overlap"),
    ("train-empty-labels", TRAIN, dict(_T, LABELS="empty_labels"), "empty"),
    ("train-raster-smaller-than-tile", TRAIN, dict(_T, INPUT=["small"], TILE_SIZE=256), "too small"),
    ("train-model-other-bands", TRAIN, dict(_T, INPUT=["one_band"]), "takes 3 band"),
    ("train-newer-model", TRAIN, dict(_T, MODEL="newer"), "newer BuildSeg"),
    ("train-no-crs", TRAIN, dict(_T, INPUT=["no_crs"]), "coordinate reference system"),
    ("train-read-only-folder", TRAIN, dict(_T, OUTPUT_MODEL="@ro/m.safetensors"), "not writable"),
    ("train-invalid-geometries", TRAIN, dict(_T, LABELS="bowtie"), None),
    ("prepare-no-overlap", "buildseg:preparetiles", {"INPUT": ["good"], "LABELS": "far_labels",
                                                     "TILE_SIZE": 64, "OUTPUT": "@out/tiles"}, "overlap"),
    ("evaluate-nothing-to-compare", "buildseg:evaluate", {"INPUT": "good", "OUTPUT_REPORT": "@out/m.csv"},
     "reference"),
    ("regularize-output-is-input", "buildseg:regularizefootprints",
     {"INPUT": "@out/input.gpkg", "OUTPUT": "@out/input.gpkg"}, "never overwrites"),
    ("regularize-missing-folder", "buildseg:regularizefootprints",
     {"INPUT": "labels", "OUTPUT": "@missing/r.gpkg"}, "does not exist"),
    ("onnx-truncated", "buildseg:exportonnx", {"MODEL": "truncated", "OUTPUT": "@out/m.onnx"}, "truncated"),
    ("onnx-pickle", "buildseg:exportonnx", {"MODEL": "pickle", "OUTPUT": "@out/m.onnx"}, "pickle"),
    ("kernels-not-a-model", "buildseg:exportkernels", {"MODEL": "not_a_model", "OUTPUT": "@out/k.png"},
     "not a BuildSeg model"),
    # outputs against inputs and each other, checked before any work (processing_provider/guard.py)
    ("extract-polygons-over-aoi", EXTRACT, dict(_E, AOI="@out/input.gpkg", OUTPUT_POLYGONS="@out/input.gpkg"),
     "also the input AOI"),
    ("extract-mask-and-probability-same-file", EXTRACT, dict(_E, OUTPUT_PROBABILITY="@out/mask.tif"),
     "same file"),
    ("extract-output-is-a-folder", EXTRACT, dict(_E, OUTPUT_MASK="@dir"), "existing folder"),
    ("evaluate-output-over-reference", "buildseg:evaluate",
     {"INPUT": "good", "LABELS": "@out/input.gpkg", "OUTPUT": "@out/input.gpkg", "OUTPUT_REPORT": "@out/m.csv"},
     "also the input LABELS"),
    ("train-metrics-over-input-raster", TRAIN, dict(_T, INPUT=["@out/input.tif"], OUTPUT_METRICS="@out/input.tif"),
     "also the input INPUT"),
    ("train-report-missing-folder", TRAIN, dict(_T, OUTPUT_REPORT="@missing/r.html"), "does not exist"),
    ("heatmap-quicklook-is-a-folder", HEATMAP, dict(_H, OUTPUT_QUICKLOOK="@dir"), "existing folder"),
    ("heatmap-quicklook-not-png", HEATMAP, dict(_H, OUTPUT_QUICKLOOK="@out/look.jpg"), r"cannot be written as '\.jpg'"),
    ("extract-mask-unknown-extension", EXTRACT, dict(_E, OUTPUT_MASK="@out/mask.xyz"), "cannot be written as"),
    # geometry types: qgis_process does not check them
    ("train-point-labels", TRAIN, dict(_T, LABELS="points"), "needs polygons, but the layer holds points"),
    ("extract-line-aoi", EXTRACT, dict(_E, AOI="lines"), "needs polygons, but the layer holds lines"),
    ("evaluate-point-reference", "buildseg:evaluate", {"INPUT": "good", "LABELS": "points",
                                                       "OUTPUT_REPORT": "@out/m.csv"}, "needs polygons"),
    # model headers that would give NaN probabilities
    ("extract-model-std-zero", EXTRACT, dict(_E, MODEL="std0"), "standard deviation"),
    ("extract-model-nan-mean", EXTRACT, dict(_E, MODEL="nan_mean"), "not one finite number per band"),
    # 0/255 masks (WHU, Inria, Massachusetts) are building masks, not 'ignore'
    ("evaluate-0-255-reference", "buildseg:evaluate", {"INPUT": "mask255", "REFERENCE_RASTER": "mask255",
                                                       "OUTPUT_REPORT": "@out/m.csv"}, None),
    # probabilities, comparisons and folders that could only give a wrong result
    ("crf-image-as-probability", "buildseg:refinecrf", {"INPUT": "good", "PROBABILITY": "good",
                                                        "OUTPUT_MASK": "@out/m.tif"}, "has 3 bands"),
    ("crf-probability-out-of-range", "buildseg:refinecrf", {"INPUT": "good", "PROBABILITY": "prob_255",
                                                            "OUTPUT_MASK": "@out/m.tif"}, "between 0 and 1"),
    ("evaluate-reference-elsewhere", "buildseg:evaluate", {"INPUT": "mask255", "LABELS": "far_labels",
                                                           "OUTPUT_REPORT": "@out/m.csv"}, "do not overlap"),
    ("prepare-into-used-folder", "buildseg:preparetiles", {"INPUT": ["good"], "LABELS": "labels", "TILE_SIZE": 64,
                                                           "OUTPUT": "@used"}, "already holds files"),
    # reliability, third round: what a careless user met (issue 44)
    ("train-labelled-area-elsewhere", TRAIN, dict(_T, LABELLED_AREA="far_area"), "labelled area does not overlap"),
    ("train-time-budget-too-short", TRAIN, dict(_T, MODEL="", VAL_FRACTION=0.3, TIME_BUDGET=0.002),
     "ended before the first training step"),
    ("train-label-offset-infinite", TRAIN, dict(_T, LABEL_OFFSET="1e400,0"), "not a finite shift"),
    ("extract-work-folder-cannot-fit", EXTRACT, dict(_E, INPUT="huge_vrt", TILE_SIZE=256), "Not enough disk space"),
    ("extract-zero-area-aoi", EXTRACT, dict(_E, AOI="flat_aoi"), "no polygon with an area"),
    ("import-empty-weights", "buildseg:importweights", {"INPUT": "empty_weights",
                                                        "OUTPUT_MODEL": "@out/m.safetensors"}, "empty"),
    ("onnx-negative-tile-size", "buildseg:exportonnx", {"MODEL": "negative_tile", "OUTPUT": "@out/m.onnx"},
     "tile size"),
    ("extract-onnx-5d-output", EXTRACT, dict(_E, MODEL="onnx_5d"), "output"),
    ("extract-onnx-output-smaller", EXTRACT, dict(_E, MODEL="onnx_small"), "output"),
    ("prepare-read-only-folder", "buildseg:preparetiles", {"INPUT": ["good"], "LABELS": "labels", "TILE_SIZE": 64,
                                                           "OUTPUT": "@ro/tiles"}, "not writable"),
    ("extract-folder-read-only", "buildseg:extractfolder", {"INPUT": "@goodfolder", "MODEL": "model",
                                                            "TILE_SIZE": 128, "OUTPUT": "@ro/out"}, "not writable"),
    ("train-0-255-label-raster", "buildseg:trainfrommasks",
     {"INPUT": ["good"], "LABEL_RASTER": "mask255", "ARCHITECTURE": 0, "TILE_SIZE": 64, "EPOCHS": 1,
      "TILES_PER_EPOCH": 8, "BATCH_SIZE": 4, "VAL_FRACTION": 0.3, "FROM_SCRATCH": True,
      "OUTPUT_MODEL": "@out/m.safetensors"}, None),
]


def _resolve(value, files, out, ro):
    if isinstance(value, list):
        return [_resolve(v, files, out, ro) for v in value]
    if isinstance(value, str):
        if value.startswith("@out/"):
            return str(out / value[5:])
        if value.startswith("@ro/"):
            return os.path.join(ro, value[4:])
        if value.startswith("@missing/"):
            return str(out / "no" / "such" / value[9:])
        if value == "@used":  # a folder that already holds an earlier run's tiles
            folder = out.parent / "used_folder"
            (folder / "train" / "images").mkdir(parents=True, exist_ok=True)
            (folder / "train" / "images" / "old_r0_c0.tif").write_bytes(b"earlier tile")
            return str(folder)
        if value == "@goodfolder":  # a folder holding one good raster
            folder = out.parent / "good_folder"
            folder.mkdir(exist_ok=True)
            shutil.copy(files["good"], folder / "good.tif")
            return str(folder)
        if value == "@dir":  # an existing folder, outside the output folder
            folder = out.parent / "existing_folder"
            folder.mkdir(exist_ok=True)
            return str(folder)
        return files.get(value, value)
    return value


@pytest.mark.parametrize("case, alg, params, message", CASES, ids=[c[0] for c in CASES])
def test_bad_input(run_alg, files, tmp_path, case, alg, params, message):
    from qgis.core import QgsProcessingException

    if case == "extract-cuda-missing":
        import torch

        if torch.cuda.is_available():
            pytest.skip("a CUDA GPU is present")
    out = tmp_path / "out"
    out.mkdir()
    params = {k: _resolve(v, files, out, _read_only_folder(tmp_path)) for k, v in params.items()}
    protected = {}
    for name, original in (("input.tif", files["good"]), ("input.gpkg", files["labels"])):
        if name in str(params):
            shutil.copy(original, out / name)
            protected[str(out / name)] = (out / name).read_bytes()
    before = sorted(os.listdir(out))
    if message is None:
        res = run_alg(alg, params)
        _check_works(case, res, files)
        return
    with pytest.raises(QgsProcessingException, match=message):
        run_alg(alg, params)
    # QGIS itself writes GDAL's statistics sidecar (input.tif.aux.xml) beside any raster it opens: not an output
    after = sorted(f for f in os.listdir(out) if f != "input.tif.aux.xml")
    assert after == before, "an output was left behind"
    for path, data in protected.items():
        assert open(path, "rb").read() == data, "an input was modified"
    assert not os.path.exists(files["marker"]), "the pickle's code ran"


def _check_works(case, res, files):
    if case == "extract-nan-inf":
        with rasterio.open(res["OUTPUT_MASK"]) as m:
            mask = m.read(1)
        assert (mask[50:90, 50:90] == 255).all() and (mask[200:210] == 255).all()  # NaN/inf -> nodata
        assert set(np.unique(mask[:40])) <= {0, 1}
    elif case == "extract-huge-tile-small-raster":
        with rasterio.open(res["OUTPUT_MASK"]) as m, rasterio.open(files["good"]) as s:
            assert m.shape == s.shape and set(np.unique(m.read(1))) <= {0, 1}
    elif case == "extract-smaller-than-tile":
        with rasterio.open(res["OUTPUT_MASK"]) as m, rasterio.open(files["small"]) as s:
            assert (m.width, m.height) == (s.width, s.height) and m.transform == s.transform
    elif case == "train-invalid-geometries":
        from buildseg.engine.models import modelfile

        assert modelfile.read_info(res["OUTPUT_MODEL"]).training["epochs_run"] >= 1  # trained, not skipped
    elif case == "evaluate-0-255-reference":
        rows = dict(line.split(",")[:2] for line in open(res["OUTPUT_REPORT"]).read().splitlines()[1:])
        assert float(rows["pixel_iou"]) == 1.0  # 255 read as building on both sides, not as nothing
    elif case == "train-0-255-label-raster":
        from buildseg.engine.io.labels import RasterLabels
        from buildseg.engine.models import modelfile

        assert os.path.exists(res["OUTPUT_MODEL"]) and modelfile.read_info(res["OUTPUT_MODEL"]).num_classes == 2
        labels = RasterLabels(files["mask255"])
        with rasterio.open(files["mask255"]) as m:
            raw = m.read(1)
            lab = labels.read(m.transform, 0, 0, m.height, m.width)
        assert labels.binary_255 and (lab == 1).sum() == (raw == 255).sum() > 500  # 255 is building, not ignore
    else:
        raise AssertionError(f"no check for the working case {case}")


def test_invalid_label_geometries_are_reported(run_alg, files, tmp_path):

    feedback = recorder()
    run_alg(TRAIN, {k: _resolve(v, files, tmp_path, "/proc") for k, v in dict(_T, LABELS="bowtie").items()},
            feedback=feedback)
    assert any("repaired 1 invalid" in w for w in feedback.warnings)


def test_cancel_while_reading_labels_is_a_cancel_not_a_partial_list(qgis_app):
    """Cancelling while the label polygons are read raised nothing: the loop stopped and the features read so
    far went on as if they were all the labels (issue 47: one way to cancel, the engine's Cancelled)."""
    from qgis.core import QgsCoordinateReferenceSystem, QgsProcessingContext, QgsProcessingFeedback, QgsVectorLayer

    from buildseg.engine.core.errors import Cancelled
    from buildseg.processing_provider.layers import shapes

    from conftest import DATA

    layer = QgsVectorLayer(str(DATA / "cities" / "austin" / "buildings.gpkg"), "labels", "ogr")
    assert layer.isValid() and layer.featureCount() > 10
    feedback, context = QgsProcessingFeedback(), QgsProcessingContext()
    crs = QgsCoordinateReferenceSystem("EPSG:3857")
    assert len(shapes(layer, crs, context, feedback)) == layer.featureCount()
    feedback.cancel()
    with pytest.raises(Cancelled):
        shapes(layer, crs, context, feedback)
