"""The BuildSeg panel in the real QGIS desktop (Xvfb, the `qgis` binary): open it from its toolbar button, choose
a model, extract on the map view of the bundled sample (twice: the second replaces the first), cancel a run,
create label layers, turn extracted buildings into labels, draw, retrain for one minute, see the new model in the
chooser, list where to label next; every action is in the Processing history."""

import shutil
import sys
from pathlib import Path

import pytest

from conftest import DEFAULT_MODEL, ROOT

sys.path.insert(0, str(ROOT / "tests" / "desktop"))
from launch import run_plan  # noqa: E402

SAMPLE = str(ROOT / "resources" / "sample" / "sample.tif")
SAMPLE_LABELS = str(ROOT / "resources" / "sample" / "sample_buildings.gpkg")


def _wkts(path):
    from osgeo import ogr

    ds = ogr.Open(path)
    return [f.GetGeometryRef().ExportToWkt() for f in ds.GetLayer(0)]


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    work = tmp_path_factory.mktemp("panel")
    models, project = work / "models", work / "project"
    models.mkdir()
    project.mkdir()
    shutil.copy(DEFAULT_MODEL, models / "city.safetensors")
    area = "POLYGON((325256 2758720,326024 2758720,326024 2759488,325256 2759488,325256 2758720))"
    aoi = work / "aoi.geojson"  # a 300 m square in the middle of the sample
    aoi.write_text('{"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": '
                   '"urn:ogc:def:crs:EPSG::32640"}}, "features": [{"type": "Feature", "properties": {}, "geometry": '
                   '{"type": "Polygon", "coordinates": [[[325490, 2758954], [325790, 2758954], [325790, 2759254], '
                   '[325490, 2759254], [325490, 2758954]]]}}]}')
    from osgeo import gdal

    one_band = str(work / "one_band.tif")  # imagery the RGB model cannot read: not offered
    gdal.Translate(one_band, SAMPLE, bandList=[1])
    steps = [
        {"id": "open", "panel": "open", "args": [str(project)]},
        {"id": "raster", "panel": "add_raster", "args": [SAMPLE]},
        {"id": "model", "panel": "choose_model", "args": [2]},  # after the default and the bundled blocks model
        {"id": "toolbox_model", "panel": "copy_file", "args": [DEFAULT_MODEL, str(models / "zz-toolbox.safetensors")]},
        {"id": "run", "panel": "run_on_view", "timeout": 300},
        {"id": "rerun", "panel": "run_on_view", "timeout": 300},
        {"id": "other_model", "panel": "choose_model", "args": [1]},  # the bundled blocks model
        {"id": "run_other", "panel": "run_on_view", "timeout": 300},
        {"id": "model_back", "panel": "choose_model", "args": [2]},
        {"id": "cancel", "panel": "run_on_view", "cancel_after": 1.0, "timeout": 300},
        {"id": "set_aoi", "panel": "set_aoi", "args": [str(aoi)]},
        {"id": "run_aoi", "panel": "run_on_view", "timeout": 300},
        {"id": "clear_aoi", "panel": "set_aoi"},
        {"id": "rectangle", "panel": "drag_rectangle", "args": [[0.35, 0.35], [0.6, 0.6]], "timeout": 300},
        {"id": "import", "panel": "import_model", "args": [DEFAULT_MODEL]},
        {"id": "remove", "panel": "remove_model", "args": [False]},
        {"id": "model_again", "panel": "choose_model", "args": [2]},
        {"id": "labels", "panel": "create_labels"},  # one click: labels.gpkg beside the project
        {"id": "to_labels", "panel": "to_labels"},
        {"id": "draw", "panel": "draw", "args": ["buildings", _wkts(SAMPLE_LABELS)[:12]]},
        {"id": "draw_area", "panel": "draw", "args": ["labelled_area", [area]]},
        {"id": "retrain", "panel": "retrain", "args": [0.5], "timeout": 400},
        {"id": "uncertainty", "panel": "uncertainty", "timeout": 300},
        {"id": "zoom", "panel": "zoom_to_tile", "args": [0]},
        {"id": "one_band", "panel": "add_raster", "args": [one_band, "one band"]},
        {"id": "bad_run", "panel": "run_on_view", "args": ["0,100,0,100 [EPSG:32640]"], "timeout": 120},
    ]
    code, report, output = run_plan(steps, work, timeout=1200,
                                    settings={"Processing": {"Configuration\\BUILDSEG_MODEL_FOLDER": str(models)}})
    assert report is not None, f"QGIS died (exit {code}): {output[-3000:]}"
    return {"code": code, "report": report, "output": output, "models": models, "project": project, "work": work}


def step(session, name):
    return next(s for s in session["report"]["steps"] if s["id"] == name)


def ours(s):
    return [lay for lay in s["layers"] if lay["group"].startswith("BuildSeg extraction:")]


def test_panel_session_runs_clean(session):
    assert session["code"] == 0 and not session["report"]["errors"], session["report"]["errors"] or \
        session["output"][-3000:]
    assert session["report"]["libllvm_loaded"] and not session["report"]["triton_loaded"]
    assert "BuildSeg panel" in session["report"]["toolbar"]
    assert step(session, "open")["started"]


def test_model_chooser_describes_models(session):
    s = step(session, "model")
    assert s["models"][0] == "buildings-default.safetensors (default)" and s["models"][1:3] == [
        "buildings-blocks.safetensors (bundled)", "city.safetensors"]  # the file name first: a narrow chooser
    assert s["model"].endswith("city.safetensors")
    assert "Classes: background, building" in s["model_info"] and "Validation building IoU" in s["model_info"]


def test_the_panel_fits_a_narrow_dock(session):
    """The panel's content needs at most 300 px of width (before: 349 px against a 282 px dock, so it scrolled
    sideways and cut "buildings-default.safete" and "Draw a recta"; issue 45), with every step's text."""
    widths = [s["min_width"] for s in session["report"]["steps"] if "min_width" in s]
    assert widths and max(widths) <= 300, widths


def test_the_model_list_follows_the_model_folder(session):
    """A model written into the model folder by another run (the Toolbox) appears without a restart, and the
    chosen model stays chosen (issue 45)."""
    s = step(session, "toolbox_model")
    assert "zz-toolbox.safetensors" in s["models"] and s["model"].endswith("city.safetensors"), s["models"]


def test_extraction_on_view_adds_one_group_polygons_on_top(session):
    s = step(session, "run")
    assert s["run_ok"] and s["results"]["BUILDING_COUNT"] > 0, s["status"]
    layers = ours(s)
    assert [lay["name"] for lay in layers] == ["Buildings – sample", "Building probability – sample",
                                               "Building mask – sample"]
    assert len({lay["group"] for lay in layers}) == 1
    assert "building(s) in view" in s["status"]
    assert any(0 < v < 100 for v in s["progress"]), s["progress"]
    # the up-front estimate of the work is shown while it runs (issue 44)
    assert any("Work:" in t and "tiles" in t for t in s["statuses"]), s["statuses"]


def test_the_raster_chooser_offers_only_imagery_the_model_reads(session):
    """After a run, its mask and probability are not offered as imagery (before, the alphabetical chooser
    picked "Building mask" and the next run failed); a one-band raster is not offered to the RGB model, and
    the choice stays on the imagery (issue 45)."""
    after_run, one_band = step(session, "run"), step(session, "one_band")
    assert after_run["rasters"] == ["sample"], after_run["rasters"]
    assert one_band["started"] and "one band" not in one_band["rasters"] and one_band["raster"] == "sample"


def test_a_failed_run_says_why_in_the_panel(session):
    """A run that fails shows its reason and fix in the panel, not only "see the Log Messages panel" (the
    reason was in the Processing log alone: issue 45)."""
    s = step(session, "bad_run")
    assert s["run_ok"] is False
    assert s["status"].startswith("The run failed: ") and "does not overlap" in s["status"], s["status"]


def test_rerun_of_the_same_view_replaces_the_result(session):
    first, second = step(session, "run"), step(session, "rerun")
    assert second["run_ok"]
    assert [lay["name"] for lay in ours(second)] == [lay["name"] for lay in ours(first)]
    assert {lay["group"] for lay in ours(second)} == {lay["group"] for lay in ours(first)}
    assert not {lay["source"] for lay in ours(first)} & {lay["source"] for lay in ours(second)}
    old = {f.split("/")[0] for f in first["run_files"]}
    assert not old & {f.split("/")[0] for f in second["run_files"]}  # the old files are gone too


def test_another_model_on_the_same_view_keeps_both_results(session):
    """The same view run with another model adds its result beside the first instead of replacing it
    (issue 45: a second run with another model silently replaced the first)."""
    before, s = step(session, "rerun"), step(session, "run_other")
    assert s["run_ok"], s["status"]
    groups = {lay["group"] for lay in ours(s)}
    assert len(groups) == 2 and {lay["source"] for lay in ours(before)} <= {lay["source"] for lay in ours(s)}


def test_cancel_leaves_no_layer_or_file(session):
    before, s = step(session, "model_back"), step(session, "cancel")
    assert s["run_ok"] is False and "Cancelled" in s["status"], s["status"]
    assert s["layers"] == before["layers"] and s["run_files"] == before["run_files"]


def test_area_of_interest_layer_limits_the_run(session):
    import rasterio

    s = step(session, "run_aoi")
    assert step(session, "set_aoi")["started"] and s["run_ok"], s["status"]
    with rasterio.open(s["results"]["OUTPUT_MASK"]) as m:
        assert (m.width, m.height) == (300, 300)  # the AOI's window of the 768 px sample, not the view
        inside = m.read(1)
    assert (inside != 255).any()
    assert len({lay["group"] for lay in ours(s)}) == 3  # a result of its own beside the view's two (two models)


def test_draw_a_rectangle_hints_on_the_map_and_extracts_inside_it(session):
    """*Draw a rectangle* says on the map's message bar what to do (issue 45), and a drag runs the extraction
    over the dragged rectangle only, then gives the map its tool back."""
    import rasterio

    s = step(session, "rectangle")
    assert any("Drag a rectangle on the map" in text for text in s["hint"]), s["hint"]
    assert s["map_tool"] == "QgsMapToolExtent" and s["tool_after"] != "QgsMapToolExtent"
    assert s["started"] and s["run_ok"], s["status"]
    x0, y0, x1, y1 = s["rectangle"]
    with rasterio.open(s["results"]["OUTPUT_MASK"]) as m:
        b = m.bounds
        assert (m.read(1) != 255).any()
    assert x0 - 2 <= b.left and b.right <= x1 + 2 and y0 - 2 <= b.bottom and b.top <= y1 + 2, (b, s["rectangle"])
    assert b.right - b.left > 0.8 * (x1 - x0) and b.top - b.bottom > 0.8 * (y1 - y0)


def test_import_and_remove_models(session):
    imported, removed = step(session, "import"), step(session, "remove")
    name = Path(imported["started"]).name
    assert imported["model"] == imported["started"] and name in imported["models"]
    assert Path(imported["started"]).parent == session["models"]
    assert removed["started"] is True and name not in removed["models"] and not Path(imported["started"]).exists()
    assert removed["models"][0].endswith("(default)") and "city.safetensors" in removed["models"]


def test_label_layers_are_created_and_editable(session):
    s = step(session, "labels")
    names = [lay["name"] for lay in s["layers"] if lay["group"] == "BuildSeg labels – labels.gpkg"]  # whose
    assert names == ["Labelled buildings", "Labelled area", "Building points"]
    assert (session["project"] / "labels.gpkg").exists() and s["active_layer"] == "Labelled buildings"
    assert s["editing"]
    moved = step(session, "to_labels")
    assert moved["started"] > 0 and "added to the labels" in moved["status"]


def test_retrain_adds_the_new_model_and_keeps_the_old(session):
    drawn = step(session, "draw")
    assert drawn["started"] and drawn["count"] >= 12 + step(session, "to_labels")["started"]
    s = step(session, "retrain")
    assert s["run_ok"], s["status"]
    new = Path(s["results"]["OUTPUT_MODEL"])
    assert "validation IoU" in s["validation"]
    if s["results"]["BEST_EPOCH"] == 0:  # it did not beat its start: no copy of the start as a new model
        assert not new.exists() and s["model"].endswith("city.safetensors") and "did not beat" in s["status"]
        return
    assert new.exists() and new.parent == session["models"]
    assert s["model"] == str(new) and new.name in s["models"] and "city.safetensors" in s["models"]


def test_where_to_label_next(session):
    s = step(session, "uncertainty")
    assert s["run_ok"] and len(s["hardest"]) >= 3, s["status"]
    values = [float(t.split()[-1]) for t in s["hardest"]]
    assert values == sorted(values, reverse=True) and 0 <= values[-1] <= values[0] <= 1
    assert any(lay["name"].startswith("Uncertainty") and lay["group"] == "BuildSeg uncertainty (entropy): sample"
               for lay in s["layers"])  # the group says what the run was
    order = [lay["group"] for lay in s["layers"]]  # the heatmap below the label layers being edited (issue 45)
    assert order.index("BuildSeg labels – labels.gpkg") < order.index("BuildSeg uncertainty (entropy): sample")


def test_the_chosen_tile_is_outlined_on_the_map(session):
    """Going to the most uncertain tile outlines it on the map, inside the new view (issue 45)."""
    s = step(session, "zoom")
    assert s["started"] and s["outline"], s
    (ox0, oy0), (ox1, oy1) = [map(float, c.split(",")) for c in s["outline"].split(" : ")]
    (vx0, vy0), (vx1, vy1) = [map(float, c.split(",")) for c in s["view"].split(" : ")]
    assert vx0 <= ox0 < ox1 <= vx1 and vy0 <= oy0 < oy1 <= vy1 and (ox1 - ox0) > 0.3 * (vx1 - vx0)


def test_every_action_is_in_the_processing_history(session):
    history = step(session, "uncertainty")["history"]
    for alg in ("buildseg:extractbuildings", "buildseg:trainmodel", "buildseg:exportheatmap"):
        entries = [h for h in history if alg in h]
        assert entries and all(h.startswith("processing.run(") and "sample.tif" in h for h in entries), alg
    assert sum("buildseg:extractbuildings" in h for h in history) == 6  # view, again, other model, cancelled, AOI,
    # rectangle
    assert any("buildseg:extractbuildings" in h and "aoi.geojson" in h for h in history)
    assert any("buildseg:createlabels" in h and "labels.gpkg" in h for h in history)
