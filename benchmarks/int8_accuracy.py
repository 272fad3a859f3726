"""Should INT8 be the CPU default? The default model's accuracy with fp32 ONNX Runtime and with static INT8
(onnxruntime-int8, calibrated on each input), measured side by side on every place of benchmarks/accuracy.py.
INT8 becomes the default only if it loses at most 0.5 building-IoU points on average (issue 18).

    python benchmarks/int8_accuracy.py [--model PATH] [--only "austin;kampala"]
"""

import argparse
import tempfile

import numpy as np
from common import DEFAULT_MODEL, import_plugin

import_plugin()

MAX_LOSS = 0.005  # building IoU


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--only", default="", help="semicolon-separated place names (default: all)")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0: all cores)")
    args = ap.parse_args()
    from accuracy import places, score

    from buildseg.engine.extract.inference import ExtractParams

    work = tempfile.mkdtemp(prefix="buildseg-int8-")
    rows = []
    print("| place | fp32 IoU | INT8 IoU | fp32 building F1 | INT8 building F1 |\n|---|---|---|---|---|")
    for place in places(work):
        if args.only and place[0] not in args.only.split(";"):
            continue
        fp32 = score(args.model, place, ExtractParams(backend="onnxruntime", threads=args.threads), work)
        int8 = score(args.model, place, ExtractParams(backend="onnxruntime-int8", threads=args.threads), work)
        rows.append((fp32["pixel_iou"], int8["pixel_iou"]))
        print(f"| {place[0]} | {fp32['pixel_iou']:.3f} | {int8['pixel_iou']:.3f} | {fp32['object_f1']:.3f} | "
              f"{int8['object_f1']:.3f} |", flush=True)
    loss = float(np.mean([a - b for a, b in rows]))
    print(f"\nmean building IoU change with INT8: {-loss * 100:+.2f} points over {len(rows)} places; INT8 "
          f"{'may' if loss <= MAX_LOSS else 'may not'} be the CPU default (limit: a loss of "
          f"{MAX_LOSS * 100:.1f} points)")


if __name__ == "__main__":
    main()
