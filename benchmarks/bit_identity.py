"""The bundled model's outputs on two real scenes, as content hashes: to show a refactoring changed nothing.

    python benchmarks/bit_identity.py [--against GIT_REV]

Extracts mask, probability and polygons with the default model on a crop of Austin (aerial 0.3 m, a city it
never trained on) and of Nairobi (satellite, with no-data), and prints a SHA-256 of each output's content: the
raster values with their grid and CRS, and the polygons' geometries and attributes in order (not the files'
bytes, which hold creation times). With --against, the same runs at another revision (a temporary git worktree
of it, run in its own process) and the script says whether every hash agrees.
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess  # nosec B404 - fixed git and python commands
import sys
import tempfile

from common import DATA, DEFAULT_MODEL, import_plugin

SCENES = {"austin": (DATA / "cities" / "austin" / "image.tif", 0, 0, 768, 768),
          "nairobi": (DATA / "cities" / "nairobi" / "image.tif", 512, 3200, 768, 768)}


def raster_hash(path: str) -> str:
    import rasterio

    with rasterio.open(path) as src:
        h = hashlib.sha256(src.read().tobytes())
        h.update(repr((src.crs.to_wkt(), tuple(src.transform), src.nodata, src.dtypes)).encode())
    return h.hexdigest()[:16]


def vector_hash(path: str) -> str:
    from osgeo import ogr

    ds = ogr.Open(path)
    layer = ds.GetLayer(0)
    h = hashlib.sha256()
    for f in layer:
        h.update(f.GetGeometryRef().ExportToWkb())
        h.update(json.dumps([f.GetField(i) for i in range(f.GetFieldCount())], default=str).encode())
    return h.hexdigest()[:16]


def hashes(work: str) -> dict:
    import_plugin()
    from buildseg.engine.extract.inference import extract
    from buildseg.engine.io.raster import crop_to_file

    out = {}
    for name, (image, row, col, h, w) in SCENES.items():
        crop = os.path.join(work, f"{name}.tif")
        crop_to_file(str(image), row, col, h, w, crop)
        paths = {k: os.path.join(work, f"{name}-{k}{ext}") for k, ext in
                 (("mask", ".tif"), ("probability", ".tif"), ("polygons", ".gpkg"))}
        extract(crop, str(DEFAULT_MODEL), out_mask=paths["mask"], out_probability=paths["probability"],
                out_polygons=paths["polygons"])
        out[name] = {"mask": raster_hash(paths["mask"]), "probability": raster_hash(paths["probability"]),
                     "polygons": vector_hash(paths["polygons"])}
    return out


def at_revision(rev: str) -> dict:
    """The same hashes from a worktree of `rev`, in a process of its own (its own plugin link)."""
    from common import revision_tree  # here: older revisions run a copy of this script with their own common.py

    with revision_tree(rev) as tree, tempfile.TemporaryDirectory(prefix="buildseg-tmp-") as tmp, \
            tempfile.TemporaryDirectory(prefix="buildseg-cache-") as cache:
        env = dict(os.environ, TMPDIR=tmp, BUILDSEG_CACHE=cache, BUILDSEG_DATA=str(DATA))  # its own link and cache
        script = os.path.join(tree, "benchmarks", "bit_identity.py")
        if not os.path.exists(script):  # an older revision: this script, copied into its (temporary) tree
            shutil.copy(os.path.abspath(__file__), script)
        out = subprocess.run([sys.executable, script, "--json"], check=True, capture_output=True, text=True,
                             env=env, cwd=os.path.join(tree, "benchmarks")).stdout  # nosec B603
        return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--against", metavar="GIT_REV", help="compare with the outputs of this revision")
    ap.add_argument("--json", action="store_true", help="print the hashes as one JSON line only")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="buildseg-bits-") as work:
        mine = hashes(work)
    if args.json:
        print(json.dumps(mine))
        return
    theirs = at_revision(args.against) if args.against else None
    for name, outs in mine.items():
        for kind, value in outs.items():
            other = "" if not theirs else \
                f"  {args.against}: {theirs[name][kind]}  {'same' if theirs[name][kind] == value else 'DIFFERENT'}"
            print(f"{name:<8} {kind:<12} {value}{other}")
    if theirs:
        same = mine == theirs
        print("bit-identical: every output agrees" if same else "NOT bit-identical")
        sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
