"""How splitting touching buildings changes building-level F1, per place and on average.

Each model's mask is extracted once per place (the places of benchmarks/accuracy.py: test cells of the
default model's cities, unseen cities and fixtures, without Dubai's block labels); then the polygons are traced
again from that mask for every setting of the separation (ExtractParams.separate / separation_neck) and judged
like accuracy.py does. Pixel IoU does not change with the separation (the mask is the same); building F1 does.

    python benchmarks/separation.py [--model M ...] [--necks 0 0.3 0.5 0.7 inf] [--only "austin;rio"] [--validation]

--validation judges on the validation cells of the default model's training places instead (ground to choose a
setting on, leaving the test cells unseen).

neck 0 never splits (SEPARATE off); inf splits at every waist the h-maxima find (the rule before the neck test).
"""

import argparse
import os
import tempfile

import numpy as np
from accuracy import judge, places, validation_places
from common import DEFAULT_MODEL, import_plugin

import_plugin()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", nargs="+", default=[str(DEFAULT_MODEL)])
    ap.add_argument("--necks", type=float, nargs="+", default=[0.0, 0.3, 0.5, 0.7, float("inf")])
    ap.add_argument("--only", default="", help="semicolon-separated place names (default: all but Dubai)")
    ap.add_argument("--validation", action="store_true", help="the validation cells of the training places")
    args = ap.parse_args()
    from buildseg.engine.core.progress import Progress
    from buildseg.engine.extract.inference import ExtractParams, extract
    from buildseg.engine.models import modelfile
    from buildseg.engine.postprocess.vectorize import polygonize

    work = tempfile.mkdtemp(prefix="buildseg-separation-")
    only = args.only.split(";") if args.only else None
    chosen = [p for p in (validation_places if args.validation else places)(work)
              if not p[0].startswith("dubai") and (not only or p[0] in only)]
    print("| model | place | " + " | ".join(f"neck {n:g}" for n in args.necks) + " |\n|---|---|"
          + "---|" * len(args.necks))
    for model in args.model:
        info, f1 = modelfile.read_info(model), []
        for place in chosen:
            stem = os.path.join(work, f"{abs(hash((model, place[2])))}")
            extract(place[2], model, out_mask=stem + ".tif", out_probability=stem + "-p.tif",
                    params=ExtractParams(aoi=place[4]))
            row = []
            for k, neck in enumerate(args.necks):
                params = ExtractParams(separate=neck > 0, separation_neck=neck)
                polygonize(stem + ".tif", stem + "-p.tif", f"{stem}-{k}.gpkg", info, params, Progress())
                row.append(judge(f"{stem}-{k}.gpkg", stem + ".tif", place)["object_f1"])
            f1.append(row)
            print(f"| {os.path.basename(model)} | {place[0]} | " + " | ".join(f"{v:.3f}" for v in row) + " |",
                  flush=True)
        print(f"| {os.path.basename(model)} | **mean of {len(chosen)}** | "
              + " | ".join(f"**{v:.3f}**" for v in np.mean(f1, axis=0)) + " |", flush=True)


if __name__ == "__main__":
    main()
