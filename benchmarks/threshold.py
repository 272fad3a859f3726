"""Which probability threshold turns the default model's output into the best buildings, chosen where it is fair.

The threshold is chosen on the **validation cells** of the default model's training places (never trained on,
never used for the accuracy table), by the mean of building IoU and building-level F1 over the places; the
chosen and the default threshold are then both reported on the **test cells** and the unseen places of
benchmarks/accuracy.py. Each place is extracted once (mask and probability); the mask is then cut again from the
probability at every threshold and traced into polygons by BuildSeg's own post-processing.

    python benchmarks/threshold.py [--model M] [--thresholds 0.3 0.35 0.4 0.45 0.5 0.55 0.6]
"""

import argparse
import os
import tempfile

import numpy as np
from accuracy import judge, places, validation_places
from common import DEFAULT_MODEL, import_plugin

import_plugin()


def cut(mask: str, probability: str, threshold: float, out: str) -> str:
    """The mask raster `mask` with its building pixels taken again as probability >= `threshold` (nodata kept)."""
    import rasterio

    with rasterio.open(mask) as m, rasterio.open(probability) as p:
        nodata, values, prob, profile = m.nodata, m.read(1), p.read(1), m.profile
    out_values = np.where(values == nodata, nodata, prob >= threshold).astype(np.uint8)
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(out_values, 1)
    return out


def sweep(model: str, chosen: list, thresholds: list, work: str) -> np.ndarray:
    """[place, threshold, (IoU, building F1)] of `model` on the places `chosen` that hold a reference building
    (Kampala's validation cells are a sliver with none: its zeros would say nothing about the threshold)."""
    from buildseg.engine.core.progress import Progress
    from buildseg.engine.extract.inference import ExtractParams, extract
    from buildseg.engine.models import modelfile
    from buildseg.engine.postprocess.vectorize import polygonize

    info, out = modelfile.read_info(model), np.zeros((len(chosen), len(thresholds), 2))
    for i, place in enumerate(chosen):
        stem = os.path.join(work, f"{abs(hash((model, place[2], place[1])))}")
        extract(place[2], model, out_mask=stem + ".tif", out_probability=stem + "-p.tif",
                params=ExtractParams(aoi=place[4]))
        for k, t in enumerate(thresholds):
            mask = cut(stem + ".tif", stem + "-p.tif", t, f"{stem}-{k}.tif")
            polygonize(mask, stem + "-p.tif", f"{stem}-{k}.gpkg", info, ExtractParams(), Progress())
            m = judge(f"{stem}-{k}.gpkg", mask, place)
            out[i, k] = (m["pixel_iou"], m["object_f1"]) if m["count_reference"] else np.nan
        print(f"| {place[0]} | {place[1]} | " + " | ".join(f"{a:.3f} / {b:.3f}" for a, b in out[i]) + " |",
              flush=True)
    return out[~np.isnan(out).any(axis=(1, 2))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--thresholds", type=float, nargs="+", default=[0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6])
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="buildseg-threshold-")
    ts = args.thresholds
    header = "| place | cells | " + " | ".join(f"t {t:g}: IoU / building F1" for t in ts) + " |\n|---|---|" \
        + "---|" * len(ts)
    print(header)
    val = sweep(args.model, validation_places(work), ts, work)
    val_mean = val.mean(axis=0)
    best = int(np.argmax(val_mean.mean(axis=1)))
    print("| **mean, validation cells** | | " + " | ".join(f"{a:.3f} / {b:.3f}" for a, b in val_mean) + " |")
    print(f"\nchosen on the validation cells: threshold {ts[best]:g} (mean of IoU and building F1 "
          f"{val_mean[best].mean():.3f}; at 0.5: {val_mean[ts.index(0.5)].mean() if 0.5 in ts else float('nan'):.3f})"
          "\n")
    print(header)
    unseen = [p for p in places(work) if not p[0].startswith("dubai")]
    test = sweep(args.model, unseen, ts, work)
    test_mean = test.mean(axis=0)
    print(f"| **mean of {len(unseen)}, test cells and unseen places** | | "
          + " | ".join(f"{a:.3f} / {b:.3f}" for a, b in test_mean) + " |")
    print(f"\non the {len(unseen)} places never trained on: threshold {ts[best]:g} gives IoU {test_mean[best][0]:.3f}, "
          f"building F1 {test_mean[best][1]:.3f}" + (f"; 0.5 gives {test_mean[ts.index(0.5)][0]:.3f}, "
                                                     f"{test_mean[ts.index(0.5)][1]:.3f}" if 0.5 in ts else ""))


if __name__ == "__main__":
    main()
