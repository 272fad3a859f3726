"""A graphical model (.model3) built around a BuildSeg algorithm runs under qgis_process."""

import json

from conftest import build_model3, crop, dubai, qgis_process


def test_model3_around_extraction_runs_headless(qgis_app, tiny_model, tmp_path):
    from qgis.core import (
        QgsProcessingModelChildParameterSource,
        QgsProcessingParameterFile,
        QgsProcessingParameterRasterLayer,
    )

    src = QgsProcessingModelChildParameterSource
    path = build_model3(
        tmp_path / "extract.model3", "extract_for_test",
        [QgsProcessingParameterRasterLayer("raster", "Raster"),
         QgsProcessingParameterFile("model", "Model", extension="safetensors")],
        [("extract", "buildseg:extractbuildings", {"INPUT": src.fromModelParameter("raster"),
                                                   "MODEL": src.fromModelParameter("model"),
                                                   "TILE_SIZE": src.fromStaticValue(128)})],
        {"extract": ("buildings", "OUTPUT_POLYGONS")})

    raster = crop(dubai("tile8_part4"), str(tmp_path / "scene.tif"), 0, 0, 400, 300)
    out_path = tmp_path / "buildings.gpkg"
    out = qgis_process("run", path, "--json", "--", f"raster={raster}", f"model={tiny_model}",
                       f"extract:buildings={out_path}")
    assert out.returncode == 0, out.stdout + out.stderr
    results = json.loads(out.stdout)["results"]
    assert results["extract:buildings"] == str(out_path)
    from osgeo import ogr

    ds = ogr.Open(str(out_path))
    assert ds.GetLayer(0).GetFeatureCount() > 0
