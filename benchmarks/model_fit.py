"""Does the model-fit score predict how well the default model does? The score of every place of
benchmarks/accuracy.py against the default model's building IoU measured there (stored in the model file by
scripts/ship_model.py from benchmarks/accuracy.py), and their rank correlation (Spearman).

    python benchmarks/model_fit.py [--model resources/models/buildings-default.safetensors] [--far FOLDER]

--far FOLDER: also the far places of far_places.py (made in FOLDER), their building IoU measured here by
accuracy.py's score(), as a separate check: places not used to choose the verdicts' thresholds.
"""

import argparse
import tempfile

from accuracy import far_places, places, score
from common import DEFAULT_MODEL, import_plugin

import_plugin()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--far", metavar="FOLDER", help="also the far places of far_places.py, made in FOLDER")
    args = ap.parse_args()
    from scipy.stats import spearmanr

    from buildseg.engine.core.cache import ModelCache
    from buildseg.engine.extract.fit import check_fit
    from buildseg.engine.extract.inference import extract
    from buildseg.engine.extract.params import ExtractParams
    from buildseg.engine.models import modelfile

    measured = modelfile.read_info(args.model).metrics["test"]["per_place"]
    work = tempfile.mkdtemp(prefix="buildseg-fit-bench-")
    cache = ModelCache()
    rows = []
    print("| place | evaluated on | fit score (agreement) | verdict | resolution | radiometry | confidence | "
          "building IoU |\n|---|---|---|---|---|---|---|---|")
    groups = {"places": [], "far places": []}
    far = far_places(args.far) if args.far else []
    for place, is_far in [(p, False) for p in places(work)] + [(p, True) for p in far]:
        name, kind, image = place[:3]
        if is_far:
            iou = score(args.model, place, ExtractParams(), work)["pixel_iou"]
        elif name in measured:
            iou = measured[name]["building_iou"]
        else:
            continue
        r = check_fit(image, args.model, model_cache=cache, run=extract)
        groups["far places" if is_far else "places"].append((r.score, iou))
        m = r.measures
        print(f"| {name} | {kind} | {r.score:.2f} | {r.verdict} | {m['resolution']:.2f} | {m['radiometry']:.2f} | "
              f"{m['confidence']:.2f} | {iou:.3f} |", flush=True)
    for label, rows in groups.items():
        if len(rows) > 1:
            rho = spearmanr([s for s, _ in rows], [i for _, i in rows]).correlation
            print(f"\nSpearman rank correlation of fit score and building IoU over {len(rows)} {label}: {rho:.2f}")
        above = [s for s, i in rows if i > 0.6]
        if above:
            print(f"lowest score where building IoU > 0.6 ({label}): {min(above):.2f}")


if __name__ == "__main__":
    main()
