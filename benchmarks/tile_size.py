"""Which tile size should extraction use by default (the model's own, 256 px for the default)? The same model
with tiles of each size, on every place of benchmarks/accuracy.py (and the far places with --far), side by side:
building IoU, building-level F1 and the seconds each extraction took. Tiles overlap by the same margin whatever
their size, so a larger tile repeats less of the model's work: 256 px tiles with 64 px of overlap advance 192 px
(1.78 times the model pixels of the scene), 512 px tiles advance 448 px (1.31 times).

    python benchmarks/tile_size.py [--tiles 256 512] [--model M] [--far FOLDER] [--only "austin;kampala"]
"""

import argparse
import os
import tempfile
import time
from dataclasses import replace

import numpy as np
from accuracy import GROUPS, far_places, places, score
from common import DEFAULT_MODEL, SAMPLE, import_plugin

import_plugin()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiles", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--far", metavar="FOLDER", help="add the far places of far_places.py, made in FOLDER")
    ap.add_argument("--only", default="", help="semicolon-separated place names (default: all)")
    args = ap.parse_args()
    from buildseg.engine.extract.inference import ExtractParams

    work = tempfile.mkdtemp(prefix="buildseg-tiles-")
    selected = [p for p in places(work) + (far_places(args.far) if args.far else [])
                if not args.only or p[0] in args.only.split(";")]
    print(f"machine: {os.cpu_count()} cores; model {os.path.basename(args.model)}; tiles {args.tiles} px, "
          "overlap 64 px")
    print("| place | evaluated on | " + " | ".join(f"{t} px: IoU / building F1 / s" for t in args.tiles) + " |")
    print("|---|---|" + "---|" * len(args.tiles))
    from buildseg.engine.extract.inference import extract

    for tile in args.tiles:  # each size's one-off ONNX export is not timed
        os.makedirs(os.path.join(work, str(tile)))
        extract(str(SAMPLE), args.model, out_probability=os.path.join(work, f"warm{tile}.tif"),
                params=ExtractParams(tile_size=tile))
    results = {}
    for place in selected:
        cells = []
        for tile in args.tiles:  # the same place at each size in turn: the VM's speed drifts over minutes
            params = replace(ExtractParams(), tile_size=tile)
            if os.path.getsize(place[2]) < 2**20:  # a small raster gets a smaller tile: its export not timed
                score(args.model, place, params, os.path.join(work, str(tile)))
            t0 = time.perf_counter()
            m = score(args.model, place, params, os.path.join(work, str(tile)))
            results[(place[0], tile)] = (m["pixel_iou"], m["object_f1"], time.perf_counter() - t0)
            cells.append("{:.3f} / {:.3f} / {:.1f}".format(*results[(place[0], tile)]))
        print(f"| {place[0]} | {place[1]} | " + " | ".join(cells) + " |", flush=True)
    groups = sorted({p[1] for p in selected}, key=list(GROUPS).index)
    for tile in args.tiles:
        parts = []
        for g in groups + ["all"]:
            names = [p[0] for p in selected if g in ("all", p[1])]
            iou = np.mean([results[(n, tile)][0] for n in names])
            bf1 = np.mean([results[(n, tile)][1] for n in names])
            parts.append(f"{GROUPS.get(g, 'mean over all places')} ({len(names)}): {iou:.4f} / {bf1:.4f}")
        seconds = sum(results[(p[0], tile)][2] for p in selected)
        base = sum(results[(p[0], args.tiles[0])][2] for p in selected)
        print(f"{tile} px: " + "; ".join(parts) + f"; {seconds:.0f} s in all, {base / seconds:.2f}x the speed of "
              f"{args.tiles[0]} px")


if __name__ == "__main__":
    main()
