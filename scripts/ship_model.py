"""Ship a trained model as the bundled default: measure it on Dubai Tile 8 (the test group), write the test
metrics into its metadata and store it in fp16 as resources/models/buildings-default.safetensors.

    python scripts/ship_model.py TRAINED_MODEL [--out PATH]
"""

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import DEFAULT_MODEL, import_plugin  # noqa: E402

import_plugin()


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("model")
    ap.add_argument("--out", default=str(DEFAULT_MODEL))
    args = ap.parse_args()
    from accuracy import dubai_test_pairs, evaluate_set

    from buildseg.engine import modelfile
    from buildseg.engine.inference import ExtractParams
    from buildseg.engine.metrics import scores

    model, info = modelfile.load(args.model)
    (cm, (tp, fp, fn)), rows, _ = evaluate_set(dubai_test_pairs(), args.model, ExtractParams(overlap=64),
                               tempfile.mkdtemp(prefix="buildseg-ship-"))
    s = scores(cm)
    info.metrics["test"] = {
        "set": "Dubai Tile 8 (9 images), extraction with overlap 64, threshold 0.5",
        "dubai_tile8_building_iou": round(s["iou"][1], 4), "f1": round(s["f1"][1], 4),
        "precision": round(s["precision"][1], 4), "recall": round(s["recall"][1], 4),
        "object_f1_iou50": round(2 * tp / max(1, 2 * tp + fp + fn), 4),
        "per_image_iou": {name: round(v, 4) for name, v in rows},
    }
    modelfile.save(args.out, model, info, half=True)
    print(f"building IoU on Dubai Tile 8: {s['iou'][1]:.4f} (F1 {s['f1'][1]:.4f}); written {args.out}")


if __name__ == "__main__":
    main()
