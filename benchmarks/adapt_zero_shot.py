"""Adaptation without labels, zero-shot: the default model with and without its normalisation statistics
re-estimated on each scene (ExtractParams.adapt, engine/extract/adapt.py; or, with `--compare scene-colours`,
each band of the input standardised by the scene's own mean and std, ExtractParams.scene_colours), on every place of
benchmarks/accuracy.py (test cells of the training cities, unseen cities and clips, Dubai Tile 8) and the test
parts of the far places (benchmarks/far_places.py). Prints building IoU, F1 and building-level F1 of both, and
the extraction time of both (ratio).

    python benchmarks/adapt_zero_shot.py [--model M] [--far FOLDER] [--only 'austin;rio'] [--csv out.csv]
        [--compare adapt|scene-colours]
"""

import argparse
import csv
import os
import tempfile
import time

import numpy as np
from accuracy import places, score
from common import DEFAULT_MODEL, import_plugin
from far_places import place as far_place
from far_places import prepare

import_plugin()


def far(folder: str) -> list:
    """accuracy.places()-style entries for the far places' test parts, scored against the true outlines."""
    out = []
    for name, d in prepare(folder).items():
        p = far_place(d)
        out.append((f"far: {name}", "far place, test part", p["image"], p["truth"], p["test"]))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--far", default=None, help="folder of the far places (made when missing)")
    ap.add_argument("--only", default="", help="semicolon-separated place names (default: all)")
    ap.add_argument("--csv", default="adapt_zero_shot.csv")
    ap.add_argument("--compare", choices=["adapt", "scene-colours"], default="adapt",
                    help="what the 'adapted' columns switch on: BN statistics (adapt) or input standardisation")
    args = ap.parse_args()
    from buildseg.engine.extract.inference import ExtractParams

    work = tempfile.mkdtemp(prefix="buildseg-adapt-")
    selected = places(work) + (far(args.far) if args.far else [])
    selected = [p for p in selected if not args.only or p[0] in args.only.split(";")]
    rows = []
    for p in selected:
        row = {"place": p[0], "set": p[1]}
        for label, adapt in (("as is", False), ("adapted", True)):
            t0 = time.perf_counter()
            option = {"adapt": adapt} if args.compare == "adapt" else {"scene_colours": adapt}
            m = score(args.model, p, ExtractParams(**option), work)
            row.update({f"{label} iou": m["pixel_iou"], f"{label} f1": m["pixel_f1"],
                        f"{label} building f1": m["object_f1"], f"{label} s": time.perf_counter() - t0})
        rows.append(row)
        print(f"{p[0]:<34} IoU {row['as is iou']:.3f} -> {row['adapted iou']:.3f}   building F1 "
              f"{row['as is building f1']:.3f} -> {row['adapted building f1']:.3f}   time x"
              f"{row['adapted s'] / row['as is s']:.2f}", flush=True)
    with open(args.csv, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print("\n| place | set | IoU as is | IoU adapted | building F1 as is | building F1 adapted |\n"
          "|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['place']} | {r['set']} | {r['as is iou']:.3f} | {r['adapted iou']:.3f} | "
              f"{r['as is building f1']:.3f} | {r['adapted building f1']:.3f} |")
    for group in sorted({r["set"] for r in rows}) + ["all"]:
        sel = [r for r in rows if group in ("all", r["set"])]
        a, b = (np.mean([r[f"{k} iou"] for r in sel]) for k in ("as is", "adapted"))
        wins = sum(r["adapted iou"] > r["as is iou"] for r in sel)
        print(f"| **mean: {group}** ({len(sel)}) | | **{a:.3f}** | **{b:.3f}** | adapted better on {wins} | |")


if __name__ == "__main__":
    os.environ.setdefault("BUILDSEG_THREADS", "1")
    main()
