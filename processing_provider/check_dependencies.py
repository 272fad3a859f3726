"""Check / install dependencies: versions, the device found, and an optional pip install."""

import json

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFileDestination,
)

from ..engine import deps
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
        "<b>Install missing packages</b>: runs pip to install the pinned versions of the plugin's "
        "requirements.txt into a private folder BuildSeg adds to Python's path (see README), streaming pip's "
        "output here. A CUDA build of torch is chosen when nvidia-smi finds an NVIDIA GPU, else the CPU build. "
        "Restart QGIS afterwards.\n\n"
        "<b>Report</b>: optional JSON file with the same information.")

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterBoolean(self.INSTALL, self.tr("Install missing packages"), False))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT, self.tr("Report"), "JSON files (*.json)", optional=True, createByDefault=False))
        self.addOutput(QgsProcessingOutputString(self.REPORT, self.tr("Report text")))

    def processAlgorithm(self, parameters, context, feedback):
        report = dependency_report()
        for row in report["rows"]:
            kind = "required" if row["required"] else f"optional: {row['needed_for']}"
            state = row["version"] or ("MISSING" if row["required"] else "not installed")
            feedback.pushInfo(f"{row['package']:<34} {state:<16} ({kind})")
        feedback.pushInfo(f"Device: {report['device']}")
        feedback.pushInfo(f"triton: {report['triton']}")
        if self.parameterAsBool(parameters, self.INSTALL, context) and report["missing"]:
            cuda = deps.has_nvidia_gpu()
            feedback.pushInfo(f"Installing {', '.join(report['missing'])} into {deps.private_target()} "
                              f"({'CUDA' if cuda else 'CPU'} build of torch: "
                              f"{'nvidia-smi found a GPU' if cuda else 'no NVIDIA GPU found'}).")
            code = deps.run_pip(deps.pip_install_command(cuda), feedback.pushConsoleInfo, feedback.isCanceled)
            if code != 0:
                raise QgsProcessingException(f"pip failed (exit code {code}); its output is above.")
            feedback.pushInfo("Installed. Restart QGIS to use the new packages.")
            report = dependency_report()
        elif report["missing"]:
            feedback.pushWarning(deps.install_hint(report["missing"]))
        else:
            feedback.pushInfo("Every required package is installed.")
        text = json.dumps(report, indent=2)
        out = {self.REPORT: text}
        path = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        if path:
            with open(path, "w") as f:
                f.write(text)
            out[self.OUTPUT] = path
        return out


def dependency_report() -> dict:
    from ..engine.safe_imports import triton_blocked

    packages = deps.versions()
    missing = [name for name, version in packages.items() if version is None and name not in deps.OPTIONAL]
    device = "unknown (torch missing)"
    if packages.get("torch") and not str(packages["torch"]).startswith("broken"):
        from ..engine import device as devices

        device = devices.describe(devices.resolve("auto"))
    return {"packages": packages, "rows": deps.report_rows(), "missing": missing, "device": device,
            "triton": "hidden from this process (BuildSeg does not need it; it crashes OpenGL desktops)"
            if triton_blocked() else "not blocked", "private_folder": str(deps.private_target())}
