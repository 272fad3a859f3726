"""`make package`: the plugin zip as the QGIS plugin repository expects it: one top folder `buildseg`, the
tracked files of this checkout (no venv, caches, tests data or CI files), LICENSE included, at most 25 MB.

Refuses while metadata.txt still holds PLACEHOLDER contact or repository fields (set the real ones before a
release); `--allow-placeholders` builds a zip for local testing anyway."""

import configparser
import os
import subprocess  # nosec B404
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 25 * 2**20
EXCLUDE_DIRS = (".ci/", "benchmarks/", "tests/", "scripts/", ".git")
EXCLUDE_FILES = (".gitignore", "Makefile", "pyproject.toml", "requirements-dev.txt", "constraints.txt")


def plugin_files() -> list:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)  # nosec
    return [f for f in out.stdout.splitlines()
            if not f.startswith(EXCLUDE_DIRS) and f not in EXCLUDE_FILES and "__pycache__" not in f
            and not f.endswith(".pyc")]


def placeholder_fields(meta) -> list:
    return [k for k, v in meta["general"].items() if "PLACEHOLDER" in v]


def main() -> int:
    meta = configparser.ConfigParser()
    meta.read(ROOT / "metadata.txt")
    placeholders = placeholder_fields(meta)
    if placeholders and "--allow-placeholders" not in sys.argv[1:]:
        print(f"ERROR: metadata.txt fields {', '.join(placeholders)} are placeholders: set the real contact and "
              "repository before packaging a release (or pass --allow-placeholders for a local test zip).",
              file=sys.stderr)
        return 2
    version = meta["general"]["version"]
    dist = ROOT / "dist"
    dist.mkdir(exist_ok=True)
    path = dist / f"buildseg-{version}.zip"
    tmp = path.with_suffix(".zip.part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for f in plugin_files():
            z.write(ROOT / f, f"buildseg/{f}")
    os.replace(tmp, path)
    size = path.stat().st_size
    print(f"{path} ({size / 2**20:.1f} MB, {len(plugin_files())} files)")
    if size > LIMIT:
        print(f"ERROR: larger than the plugin repository's {LIMIT // 2**20} MB limit", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
