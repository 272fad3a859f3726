"""What the panel is made of, headless: label layers in one click, extracted buildings turned into labels, and
the list of where to label next (on a real uncertainty map of the bundled sample)."""

import numpy as np
import pytest
import rasterio

from conftest import DEFAULT_MODEL, ROOT

SAMPLE = str(ROOT / "resources" / "sample" / "sample.tif")
SAMPLE_LABELS = str(ROOT / "resources" / "sample" / "sample_buildings.gpkg")


def test_label_package_has_three_styled_layers_and_is_never_overwritten(run_alg, tmp_path):
    from qgis.core import QgsCoordinateReferenceSystem, QgsProcessingException, QgsWkbTypes

    from buildseg.processing_provider.label_layers import open_label_layers

    crs = QgsCoordinateReferenceSystem("EPSG:32640")
    res = run_alg("buildseg:createlabels", {"INPUT": SAMPLE, "OUTPUT": str(tmp_path / "labels.gpkg")})
    assert res["BUILDINGS"] == str(tmp_path / "labels.gpkg") + "|layername=buildings"
    made = open_label_layers(res["OUTPUT"])
    assert list(made) == ["buildings", "labelled_area", "points"]
    assert all(lay.isValid() and lay.crs() == crs and lay.featureCount() == 0 for lay in made.values())
    assert made["buildings"].fields().names()[-1] == "class" and "class" not in made["labelled_area"].fields().names()
    assert QgsWkbTypes.geometryType(made["points"].wkbType()) == QgsWkbTypes.PointGeometry
    assert made["buildings"].defaultValueDefinition(made["buildings"].fields().indexOf("class")).expression() == \
        "'building'"
    with pytest.raises(QgsProcessingException, match="never overwritten"):
        run_alg("buildseg:createlabels", {"INPUT": SAMPLE, "OUTPUT": str(tmp_path / "labels.gpkg")})
    res = run_alg("buildseg:createlabels", {"CRS": "EPSG:3857", "OUTPUT": str(tmp_path / "m.gpkg")})
    assert open_label_layers(res["OUTPUT"])["points"].crs().authid() == "EPSG:3857"
    with pytest.raises(QgsProcessingException, match="Give the imagery to label"):
        run_alg("buildseg:createlabels", {"OUTPUT": str(tmp_path / "n.gpkg")})
    assert not (tmp_path / "n.gpkg").exists()


def test_extracted_buildings_become_editable_labels_in_the_labels_crs(qgis_app, tmp_path):
    from qgis.core import QgsCoordinateReferenceSystem, QgsProject, QgsVectorLayer

    from buildseg.processing_provider.label_layers import (
        extraction_to_labels,
        open_label_layers,
        write_label_package,
    )

    found = QgsVectorLayer(SAMPLE_LABELS, "found", "ogr")  # stands for an extraction's polygons (UTM 40N)
    made = open_label_layers(write_label_package(str(tmp_path / "l.gpkg"), QgsCoordinateReferenceSystem(
        "EPSG:3857"), QgsProject.instance().transformContext()))
    buildings = made["buildings"]
    assert extraction_to_labels(found, buildings) == found.featureCount()
    assert buildings.isEditable() and buildings.featureCount() == found.featureCount()  # in the edit buffer
    f = next(buildings.getFeatures())
    assert f["class"] == "building" and f.geometry().boundingBox().xMinimum() > 6e6  # web mercator metres
    assert buildings.commitChanges()
    assert QgsVectorLayer(buildings.source(), "x", "ogr").featureCount() == found.featureCount()


def test_hardest_windows_rank_a_real_uncertainty_map(tmp_path):
    from buildseg.engine.explain.heatmap import HeatmapParams, export_heatmap, hardest_windows

    out = str(tmp_path / "entropy.tif")
    export_heatmap(SAMPLE, DEFAULT_MODEL, out, HeatmapParams(mode="entropy"))
    found = hardest_windows(out, 256, count=20)
    with rasterio.open(out) as ds:
        data = ds.read(1, masked=True)
        means = []
        for _, (x0, y0, x1, y1) in found:
            w = rasterio.windows.from_bounds(x0, y0, x1, y1, ds.transform).round_offsets().round_lengths()
            part = data[w.row_off:w.row_off + w.height, w.col_off:w.col_off + w.width]
            means.append(float(part[part >= 0].mean()))
        every = [float(data[r:r + 256, c:c + 256].mean()) for r in range(0, ds.height, 256)
                 for c in range(0, ds.width, 256)]
    assert len(found) == min(20, len(every)) and found == sorted(found, key=lambda f: -f[0])
    assert np.allclose([v for v, _ in found], means, atol=1e-4)  # each value is its window's mean
    assert found[0][0] == pytest.approx(max(every), abs=1e-4)  # the first is the most uncertain window
