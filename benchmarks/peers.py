"""BuildSeg against GeoDeep, side by side on the same ONNX model and the same scenes.

GeoDeep (PyPI: headless tiled ONNX segmentation) is installed into its own virtual environment by this script.
Both run the default model exported with the Deepness/GeoDeep profile (`buildseg:exportonnx PROFILE=1`) and
write building polygons: BuildSeg as a user runs it (`qgis_process run buildseg:extractbuildings`, mask,
probability and polygons), GeoDeep as its README says (`geodeep SCENE MODEL.onnx -t geojson`). Whole processes
alternate (BuildSeg, GeoDeep, BuildSeg, ...); the figures are medians of wall time and of peak memory (the
largest resident set of the process and everything it waited for, from wait4), and the ratios are printed
against GeoDeep measured in the same run.

    python benchmarks/peers.py [--scenes nairobi banepa] [--repeats 3] [--csv peers.csv]

The default scenes: Nairobi (satellite, fully valid, 9.4 MP) and Banepa (drone mosaic with large no-data
areas, 19.6 MP). Run it on an otherwise idle machine.
"""

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import DATA, ROOT

GEODEEP = "geodeep==0.9.13"
VENV = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "buildseg-bench" / "geodeep-0.9.13"
QGIS_PROCESS = str(ROOT / "scripts" / "qgis_process")


def geodeep_venv() -> Path:
    """GeoDeep's own virtual environment (made once, from PyPI); its `geodeep` command."""
    exe = VENV / "bin" / "geodeep"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)  # nosec B603
        subprocess.run([str(VENV / "bin" / "pip"), "install", "--quiet", GEODEEP], check=True)  # nosec B603
    return exe


def export_model(work: str) -> str:
    """The default model as ONNX with the Deepness/GeoDeep profile, by the plugin's own algorithm."""
    out = os.path.join(work, "buildings-default-deepness.onnx")
    run_quietly([QGIS_PROCESS, "run", "buildseg:exportonnx", "--", "PROFILE=1", f"OUTPUT={out}"])
    return out


def run_quietly(args: list) -> None:
    proc = subprocess.run(args, capture_output=True, text=True, env=_env())  # nosec B603
    if proc.returncode:
        raise RuntimeError(f"{' '.join(args[:4])} failed:\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}")


def _env() -> dict:
    return dict(os.environ, QT_QPA_PLATFORM="offscreen")


def measured(args: list) -> tuple:
    """(wall seconds, peak resident MiB) of one whole process and its waited-for children."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env())  # nosec B603
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(map(str, args[:4]))} failed:\n{err.decode(errors='replace')[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


def buildseg_args(scene: str, model: str, out: str) -> list:
    return [QGIS_PROCESS, "run", "buildseg:extractbuildings", "--", f"INPUT={scene}", f"MODEL={model}",
            f"OUTPUT_MASK={out}-mask.tif", f"OUTPUT_PROBABILITY={out}-probability.tif",
            f"OUTPUT_POLYGONS={out}-buildings.gpkg"]


def geodeep_args(exe: Path, scene: str, model: str, out: str) -> list:
    return [str(exe), scene, model, "-t", "geojson", "-o", f"{out}.geojson", "--quiet"]


def polygon_count(path: str) -> int:
    if path.endswith(".geojson"):
        with open(path) as f:
            return len(json.load(f)["features"])
    import sqlite3

    with sqlite3.connect(path) as db:
        table = db.execute("SELECT table_name FROM gpkg_contents WHERE data_type='features'").fetchone()[0]
        return db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]  # nosec B608 - the file's own table


def compare(scene_name: str, exe: Path, model: str, repeats: int, work: str) -> dict:
    scene = str(DATA / "cities" / scene_name / "image.tif")
    runs = {"buildseg": [], "geodeep": []}
    for i in range(repeats):
        for tool in runs:
            out = os.path.join(work, f"{scene_name}-{tool}-{i}")
            args = buildseg_args(scene, model, out) if tool == "buildseg" else geodeep_args(exe, scene, model, out)
            runs[tool].append(measured(args))
            print(f"  {scene_name} {tool} run {i + 1}: {runs[tool][-1][0]:.1f} s, {runs[tool][-1][1]:.0f} MiB",
                  flush=True)
    row = {"scene": scene_name, "repeats": repeats}
    for tool, values in runs.items():
        row[f"{tool}_s"] = statistics.median(v[0] for v in values)
        row[f"{tool}_mib"] = statistics.median(v[1] for v in values)
    row["buildseg_polygons"] = polygon_count(os.path.join(work, f"{scene_name}-buildseg-0-buildings.gpkg"))
    row["geodeep_polygons"] = polygon_count(os.path.join(work, f"{scene_name}-geodeep-0.geojson"))
    row["speed_ratio"] = row["geodeep_s"] / row["buildseg_s"]
    row["memory_ratio"] = row["buildseg_mib"] / row["geodeep_mib"]
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", nargs="+", default=["nairobi", "banepa"], help="places under shared/data/cities")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--csv", default=None, help="also write the rows here")
    args = ap.parse_args()
    exe = geodeep_venv()
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True).stdout.strip()  # nosec B603
    print(f"machine: {os.cpu_count()} cores; GeoDeep {version} in {VENV}; {args.repeats} alternating runs each")
    with tempfile.TemporaryDirectory(prefix="buildseg-peers-") as work:
        model = export_model(work)
        rows = [compare(s, exe, model, args.repeats, work) for s in args.scenes]
    print("\n| scene | BuildSeg s | GeoDeep s | speed (GeoDeep s / BuildSeg s) | BuildSeg MiB | GeoDeep MiB | "
          "memory (BuildSeg / GeoDeep) | polygons BuildSeg / GeoDeep |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['scene']} | {r['buildseg_s']:.1f} | {r['geodeep_s']:.1f} | {r['speed_ratio']:.2f}x | "
              f"{r['buildseg_mib']:.0f} | {r['geodeep_mib']:.0f} | {r['memory_ratio']:.2f}x | "
              f"{r['buildseg_polygons']} / {r['geodeep_polygons']} |")
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)


if __name__ == "__main__":
    main()
