"""Does the model-fit score predict how well the default model does? The score of every place of
benchmarks/accuracy.py against the default model's building IoU measured there (stored in the model file by
scripts/ship_model.py from benchmarks/accuracy.py), and their rank correlation (Spearman).

    python benchmarks/model_fit.py [--model resources/models/buildings-default.safetensors]
"""

import argparse
import tempfile

from accuracy import places
from common import DEFAULT_MODEL, import_plugin

import_plugin()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    args = ap.parse_args()
    from scipy.stats import spearmanr

    from buildseg.engine.core.cache import ModelCache
    from buildseg.engine.extract.fit import check_fit
    from buildseg.engine.extract.inference import extract
    from buildseg.engine.models import modelfile

    measured = modelfile.read_info(args.model).metrics["test"]["per_place"]
    work = tempfile.mkdtemp(prefix="buildseg-fit-bench-")
    cache = ModelCache()
    rows = []
    print("| place | evaluated on | fit score | verdict | resolution | radiometry | confidence | building IoU |")
    print("|---|---|---|---|---|---|---|---|")
    for name, kind, image, _, _ in places(work):
        if name not in measured:
            continue
        r = check_fit(image, args.model, model_cache=cache, run=extract)
        iou = measured[name]["building_iou"]
        rows.append((r.score, iou))
        m = r.measures
        print(f"| {name} | {kind} | {r.score:.2f} | {r.verdict} | {m['resolution']:.2f} | {m['radiometry']:.2f} | "
              f"{m['confidence']:.2f} | {iou:.3f} |", flush=True)
    rho = spearmanr([s for s, _ in rows], [i for _, i in rows]).correlation
    print(f"\nSpearman rank correlation of fit score and building IoU over {len(rows)} places: {rho:.2f}")


if __name__ == "__main__":
    main()
