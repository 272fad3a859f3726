"""Check model fit on real places: a city like the training ones fits better than 1 m imagery, and the verdict
names the reason."""

import json

import pytest

from conftest import DATA, DEFAULT_MODEL, recorder

MASSACHUSETTS = DATA / "fixtures" / "gdl-massachusetts" / "22978945_15_uint8_clipped.tif"


def test_fit_ranks_a_matching_city_above_coarse_imagery(run_alg, tmp_path):
    scores = {}
    for name, image in (("banepa", DATA / "cities" / "banepa" / "image.tif"), ("massachusetts", MASSACHUSETTS)):
        feedback = recorder()
        res = run_alg("buildseg:checkfit", {"INPUT": str(image), "MODEL": DEFAULT_MODEL,
                                            "OUTPUT_REPORT": str(tmp_path / f"{name}.json")}, feedback=feedback)
        report = json.loads((tmp_path / f"{name}.json").read_text())
        assert report["score"] == res["FIT_SCORE"] and report["verdict"] == res["VERDICT"]
        scores[name] = report
    assert scores["banepa"]["verdict"] == "fits" and scores["massachusetts"]["verdict"] == "fine-tune first"
    assert scores["banepa"]["score"] > 2 * scores["massachusetts"]["score"]
    assert any("trained at 0.3 m" in r for r in scores["massachusetts"]["reasons"])  # 1 m imagery
    assert scores["massachusetts"]["measures"]["ground_resolution_m"] == pytest.approx(1.0, abs=0.01)
