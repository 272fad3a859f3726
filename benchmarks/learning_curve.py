"""Does a training run keep learning? For each epoch history (the MODEL.csv that training writes beside a
model: `OUTPUT_METRICS`, and same_budget.py for every BuildSeg run), the building IoU on validation at the 4th
epoch against the run's last third of epochs (their mean and best), as issue 41 asks of a 30-minute run, and
whether training's log explains a plateau (engine/train/loop.py _explain_learning: a budgeted run of 6 or
more epochs whose peak came in its first third, or whose last third validates no better than its 4th epoch).

    python benchmarks/learning_curve.py WORK/*-30-0.safetensors.csv
"""

import argparse
import csv
import math
import os


def curve(path: str) -> dict:
    rows = list(csv.DictReader(open(path)))
    iou = [float(r["val_iou_building"]) for r in rows]
    last = iou[math.ceil(2 * len(iou) / 3):] or iou[-1:]
    fourth = iou[3] if len(iou) >= 4 else None
    return {"run": os.path.basename(path), "epochs": len(iou), "epoch4": fourth, "last_mean": sum(last) / len(last),
            "last_best": max(last), "curve": iou,
            "keeps_learning": fourth is not None and sum(last) / len(last) > fourth,
            "explained": len(iou) >= 6 and (iou.index(max(iou)) + 1 <= len(iou) / 3 or
                                            (fourth is not None and sum(last) / len(last) <= fourth))}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("csv", nargs="+")
    args = ap.parse_args()
    print("| run | epochs | validation building IoU, epoch 4 | last third: mean / best | keeps learning | "
          "plateau explained in the log | curve |")
    print("|---|---|---|---|---|---|---|")
    for path in args.csv:
        c = curve(path)
        e4 = f"{c['epoch4']:.3f}" if c["epoch4"] is not None else "(fewer than 4 epochs)"
        print(f"| {c['run']} | {c['epochs']} | {e4} | {c['last_mean']:.3f} / {c['last_best']:.3f} | "
              f"{'yes' if c['keeps_learning'] else 'no'} | {'yes' if c['explained'] else '-'} | "
              f"{' '.join(f'{v:.2f}' for v in c['curve'])} |")


if __name__ == "__main__":
    main()
