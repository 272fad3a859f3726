"""A graphical model (.model3) built around a BuildSeg algorithm runs under qgis_process."""

import json

from conftest import crop, dubai, qgis_process


def test_model3_around_extraction_runs_headless(qgis_app, tiny_model, tmp_path):
    from qgis.core import (
        QgsProcessingModelAlgorithm,
        QgsProcessingModelChildAlgorithm,
        QgsProcessingModelChildParameterSource,
        QgsProcessingModelOutput,
        QgsProcessingModelParameter,
        QgsProcessingParameterFile,
        QgsProcessingParameterRasterLayer,
    )

    model = QgsProcessingModelAlgorithm("extract_for_test", "BuildSeg tests")
    model.addModelParameter(QgsProcessingParameterRasterLayer("raster", "Raster"),
                            QgsProcessingModelParameter("raster"))
    model.addModelParameter(QgsProcessingParameterFile("model", "Model", extension="safetensors"),
                            QgsProcessingModelParameter("model"))
    child = QgsProcessingModelChildAlgorithm("buildseg:extractbuildings")
    child.setChildId("extract")
    child.addParameterSources("INPUT", [QgsProcessingModelChildParameterSource.fromModelParameter("raster")])
    child.addParameterSources("MODEL", [QgsProcessingModelChildParameterSource.fromModelParameter("model")])
    child.addParameterSources("TILE_SIZE", [QgsProcessingModelChildParameterSource.fromStaticValue(128)])
    output = QgsProcessingModelOutput("buildings", "Buildings")
    output.setChildId("extract")
    output.setChildOutputName("OUTPUT_POLYGONS")
    child.setModelOutputs({"buildings": output})
    model.addChildAlgorithm(child)
    path = tmp_path / "extract.model3"
    assert model.toFile(str(path))

    raster = crop(dubai("tile8_part4"), str(tmp_path / "scene.tif"), 0, 0, 400, 300)
    out_path = tmp_path / "buildings.gpkg"
    out = qgis_process("run", str(path), "--json", "--", f"raster={raster}", f"model={tiny_model}",
                       f"extract:buildings={out_path}")
    assert out.returncode == 0, out.stdout + out.stderr
    results = json.loads(out.stdout)["results"]
    assert results["extract:buildings"] == str(out_path)
    from osgeo import ogr

    ds = ogr.Open(str(out_path))
    assert ds.GetLayer(0).GetFeatureCount() > 0
