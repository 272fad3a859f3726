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
from pathlib import Path

PLUGIN_DIR = Path(__file__).resolve().parent.parent
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
    "distributed": "distributed",  # only for extraction on a Dask cluster (WORKERS / SCHEDULER)
}
# Provided by QGIS's own Python on every platform QGIS supports.
SYSTEM_MODULES = {"numpy": "numpy", "osgeo": "GDAL", "rasterio": "rasterio"}


def pins() -> dict:
    """Distribution name -> pinned requirement line, from requirements.txt."""
    out = {}
    for line in REQUIREMENTS.read_text().splitlines():
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
    """Import names (of `modules`, default: all) that cannot be imported here."""
    add_private_target_to_path()
    names = modules if modules is not None else list(MODULES) + list(SYSTEM_MODULES)
    return [m for m in names if importlib.util.find_spec(m) is None]


def install_hint(names) -> str:
    dists = [MODULES.get(n) or SYSTEM_MODULES.get(n, n) for n in names]
    lines = [pins().get(d.lower(), d) for d in dists]
    return (
        "BuildSeg needs these Python packages, missing from QGIS's Python: "
        + ", ".join(dists)
        + ". Install them with the 'Check / install dependencies' algorithm of the BuildSeg "
        "provider (Tools group), or from a shell: python3 -m pip install "
        + " ".join(f"'{line}'" for line in lines)
    )


def require(*modules) -> None:
    """Raise BuildSegError naming what is missing and how to install it."""
    from .errors import BuildSegError

    gone = missing(list(modules) if modules else None)
    if gone:
        raise BuildSegError(install_hint(gone))


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
    from .errors import BuildSegError

    raise BuildSegError(
        f"No Python {ver} interpreter found beside QGIS ({prefix}); install the packages of "
        f"{REQUIREMENTS} with that Python's pip by hand."
    )


def pip_install_command(cuda: bool) -> list:
    """The pip command that installs the pinned requirements into the private folder."""
    cmd = [find_python(), "-m", "pip", "install", "--upgrade", "--target", str(private_target()),
           "-r", str(REQUIREMENTS)]
    if not cuda:
        cmd += ["--extra-index-url", "https://download.pytorch.org/whl/cpu"]
    return cmd


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


def has_nvidia_gpu() -> bool:
    """Whether nvidia-smi reports a GPU (chooses the CUDA or CPU torch build)."""
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True,  # nosec B603 B607
                             timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and "GPU" in out.stdout
