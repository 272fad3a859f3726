"""The plugin skeleton: provider, metadata, engine purity, device helper, dependency check, qgis_process."""

import configparser
import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT, qgis_process

ALGORITHMS = {"extractbuildings": "extraction", "extractfolder": "extraction", "trainmodel": "training",
              "trainfrommasks": "training",
              "preparetiles": "training", "pseudomasks": "training", "exportheatmap": "analysis",
              "exportkernels": "analysis", "evaluate": "analysis", "checkfit": "analysis",
              "regularizefootprints": "tools", "createlabels": "training",
              "refinecrf": "tools", "exportonnx": "tools", "importweights": "tools", "checkdependencies": "tools"}


def test_provider_lists_grouped_algorithms(qgis_app):
    from qgis.core import QgsApplication
    from qgis.PyQt.QtCore import QUrl

    provider = QgsApplication.processingRegistry().providerById("buildseg")
    assert provider is not None and provider.name() == "BuildSeg"
    assert not provider.icon().isNull()
    algs = {a.name(): a for a in provider.algorithms()}
    assert ALGORITHMS.keys() == algs.keys()  # a new algorithm gets its group written here
    for name, alg in algs.items():
        assert alg.groupId() == ALGORITHMS[name], name
        assert len(alg.shortHelpString()) > 200, name
        url = QUrl(alg.helpUrl())  # the guide page installed with the plugin
        assert url.isLocalFile() and os.path.isfile(url.toLocalFile()), alg.helpUrl()
        for p in alg.parameterDefinitions():
            assert p.name() == p.name().upper(), f"{name}: parameter {p.name()} is not UPPER_CASE"
    # the toolbar's three algorithms each show their own picture in the toolbox too (issue 45)
    keys = {name: algs[name].icon().pixmap(32, 32).toImage() for name in
            ("extractbuildings", "trainmodel", "checkdependencies", "evaluate")}
    assert all(not image.isNull() for image in keys.values())
    pictures = list(keys.values())
    assert all(pictures[i] != pictures[j] for i in range(4) for j in range(i + 1, 4))


def test_metadata_passes_repository_rules():
    meta = configparser.ConfigParser()
    meta.read(ROOT / "metadata.txt")
    g = meta["general"]
    for key in ("name", "qgisMinimumVersion", "qgisMaximumVersion", "description", "about", "version",
                "author", "email", "repository", "tracker", "homepage", "tags", "category", "icon"):
        assert g.get(key), key
    # Qt5-only enums in the code: QGIS 4 (Qt 6) is not claimed until the code is made and checked Qt6-safe
    assert g["qgisMinimumVersion"] == "3.22" and 3.22 < float(g["qgisMaximumVersion"]) < 4
    assert g["category"] == "Raster" and g["hasProcessingProvider"] == "yes"
    assert re.match(r"^\d+\.\d+\.\d+$", g["version"])
    assert "torch" in g["about"] and (ROOT / g["icon"]).exists()
    assert (ROOT / "LICENSE").read_text().startswith("                    GNU GENERAL PUBLIC LICENSE")


def test_engine_never_imports_qgis():
    offenders = []
    for path in (ROOT / "engine").rglob("*.py"):
        for line in path.read_text().splitlines():
            if re.match(r"\s*(from|import)\s+qgis\b", line) or re.match(r"\s*from\s+buildseg\b", line):
                offenders.append(f"{path}: {line}")
    assert not offenders


def test_device_helper_choices():
    import torch

    from buildseg.engine.core import device
    from buildseg.engine.core.errors import BuildSegError

    assert device.resolve("cpu").type == "cpu"
    assert device.resolve("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert "threads" in device.describe(torch.device("cpu"))
    with pytest.raises(BuildSegError, match="Unknown device"):
        device.resolve("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(BuildSegError, match="no CUDA GPU"):
            device.resolve("cuda")


def test_dependency_hint_names_missing_and_pins():
    from buildseg.engine.core import deps

    assert deps.missing(["torch", "no_such_module_xyz"]) == ["no_such_module_xyz"]
    hint = deps.install_hint(["torch", "pydensecrf", "cv2"])
    assert "torch==2.14.1" in hint and "pydensecrf2==1.1" in hint and "Check / install dependencies" in hint
    assert "opencv-python-headless" in hint and f'--target "{deps.private_target()}"' in hint  # PEP 668-proof


def _fake_nvidia_smi(folder, cuda: str):
    smi = folder / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho '| NVIDIA-SMI 570.86   Driver Version: 570.86   CUDA Version: " + cuda + " |'\n")
    smi.chmod(0o755)
    return str(folder)


@pytest.mark.parametrize("driver_cuda,variant", [("12.8", "cu128"), ("13.1", "cu130"), ("11.8", None)])
def test_installer_chooses_torch_index_from_the_driver(tmp_path, monkeypatch, driver_cuda, variant):
    import numpy

    from buildseg.engine.core import deps

    monkeypatch.setenv("PATH", _fake_nvidia_smi(tmp_path, driver_cuda) + os.pathsep + os.environ["PATH"])
    assert deps.cuda_variant() == variant
    steps = deps.install_plan(["torch", "torchvision", "cv2", "rasterio", "pydensecrf", "distributed"], variant,
                              platform="linux")
    torch_step, build = steps[0], variant or "cpu"
    assert torch_step.packages == [f"torch==2.14.1+{build}", f"torchvision==0.29.1+{build}"]
    assert not torch_step.optional
    assert steps[1].packages == ["opencv-python-headless==4.11.0.86", "rasterio==1.4.4"]  # rasterio where missing
    assert [(s.packages, s.optional) for s in steps[2:]] == [(["pydensecrf2==1.1"], True),
                                                            (["distributed==2026.8.0"], True)]
    for step in steps:  # one plan: every step takes torch of the same build from the same index
        assert step.argv[step.argv.index("--target") + 1] == str(deps.private_target())
        index = step.argv[step.argv.index("--extra-index-url") + 1]
        assert index == deps.TORCH_INDEX + build and "--index-url" not in step.argv  # beside the configured one
        constraint = step.argv[step.argv.index("-c") + 1]  # numpy stays the one QGIS's GDAL was built against
        assert open(constraint).read().split() == [f"numpy=={numpy.__version__}", f"torch==2.14.1+{build}",
                                                   f"torchvision==0.29.1+{build}"]
        assert os.path.dirname(constraint) == str(deps.private_target().parent)  # the user's folder, not /tmp


def test_install_plan_on_macos_takes_pypi_torch_and_python_39_is_refused():
    from buildseg.engine.core import deps
    from buildseg.engine.core.errors import BuildSegError

    steps = deps.install_plan(["torch", "segmentation_models_pytorch"], platform="darwin")
    assert steps[0].packages == ["torch==2.14.1"] and steps[1].optional
    for step in steps:
        assert "--extra-index-url" not in step.argv and "--index-url" not in step.argv
        constraint = step.argv[step.argv.index("-c") + 1]
        assert "torch==2.14.1" in open(constraint).read().split()  # smp resolves no other torch
    with pytest.raises(BuildSegError, match=r"Python 3\.9.*3\.10 or newer.*QGIS 3\.34"):
        deps.check_python((3, 9))
    deps.check_python((3, 11))


def test_installer_installs_into_an_empty_folder_and_skips_a_failed_optional(tmp_path, monkeypatch):
    from buildseg.engine.core import deps

    target = tmp_path / "private"
    monkeypatch.setattr(deps, "private_target", lambda: target)
    (tmp_path / "torch-index" / "cpu").mkdir(parents=True)  # no network to the PyTorch index in the tests
    monkeypatch.setattr(deps, "TORCH_INDEX", (tmp_path / "torch-index").as_uri() + "/")
    monkeypatch.setitem(deps.MODULES, "buildseg_no_such_module", "buildseg-no-such-package")
    monkeypatch.setitem(deps.OPTIONAL, "buildseg_no_such_module", "an imaginary algorithm")
    pins = {**deps.pins(), "buildseg-no-such-package": "buildseg-no-such-package==9.9.9"}
    monkeypatch.setattr(deps, "pins", lambda: pins)
    lines = []
    done = deps.run_plan(deps.install_plan(["safetensors", "buildseg_no_such_module"]), lines.append)
    assert done["installed"] == ["safetensors==0.6.2"] and done["failed"] == []
    assert done["skipped"] == [("buildseg-no-such-package==9.9.9", "an imaginary algorithm")]
    assert (target / "safetensors" / "__init__.py").exists()
    assert not list(target.glob("numpy*"))  # QGIS's numpy is never replaced
    assert any("No matching distribution" in line or "Could not find" in line for line in lines)


def test_dependency_report_algorithm(run_alg, tmp_path):
    out = tmp_path / "deps.json"
    res = run_alg("buildseg:checkdependencies", {"INSTALL": False, "OUTPUT": str(out)})
    report = json.loads(out.read_text())
    import torch

    # the Results panel's text is the readable report (pip names), the JSON goes to the file (issue 45)
    text = res["REPORT"]
    assert not text.lstrip().startswith("{") and re.search(rf"^torch\s+{re.escape(torch.__version__)}", text, re.M)
    assert "opencv-python-headless" in text and "cv2" not in text and text.splitlines()[-1].startswith("triton")

    assert report["packages"]["torch"] == torch.__version__
    assert report["missing"] == []
    assert report["device"].startswith(("CPU", "CUDA"))
    rows = {r["package"]: r for r in report["rows"]}  # distribution names, as pip knows them
    assert {"opencv-python-headless", "scikit-image", "torchvision", "GDAL"} <= set(rows)
    assert not {"cv2", "skimage", "osgeo"} & set(rows)
    assert rows["pydensecrf2"]["version"] == "1.1" and not rows["pydensecrf2"]["required"]
    assert not rows["distributed"]["required"] and "Dask" in rows["distributed"]["needed_for"]
    assert rows["torch"]["required"] and rows["torch"]["version"] == torch.__version__
    assert report["triton"].startswith("hidden")


def test_provider_loads_without_torch(tmp_path):
    """In a QGIS Python without torch the provider loads and algorithms explain how to install it."""
    script = tmp_path / "no_torch.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        sys.path.append('/usr/share/qgis/python/plugins')
        import os
        os.symlink({str(ROOT)!r}, {str(tmp_path / 'buildseg')!r})
        from qgis.core import QgsApplication, QgsProcessingException
        app = QgsApplication([], False); app.initQgis()
        from processing.core.Processing import Processing; Processing.initialize()
        import buildseg, processing
        plugin = buildseg.classFactory(None)
        plugin.initProcessing()
        assert 'torch' not in sys.modules
        try:
            processing.run('buildseg:extractbuildings', {{'INPUT': {str(ROOT / 'resources/sample/sample.tif')!r},
                           'OUTPUT_MASK': {str(tmp_path / 'm.tif')!r}}})
        except QgsProcessingException as e:
            print('MESSAGE:', e)
    """))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    # Debian's own Python: QGIS, GDAL and numpy, but none of the engine's pip packages
    env["HOME"] = str(tmp_path)  # no private install folder either
    out = subprocess.run(["/usr/bin/python3", "-s", str(script)], capture_output=True, text=True, env=env,
                         timeout=300)
    assert "MESSAGE:" in out.stdout, out.stdout + out.stderr
    message = out.stdout.split("MESSAGE:", 1)[1]
    assert "torch" in message and "Check / install dependencies" in message and "pip install" in message
    assert not (tmp_path / "m.tif").exists()


def test_qgis_process_lists_and_helps():
    out = qgis_process("list")
    assert out.returncode == 0, out.stderr
    for name in ALGORITHMS:
        assert f"buildseg:{name}" in out.stdout
    for name in ALGORITHMS:
        helped = qgis_process("help", f"buildseg:{name}")
        assert helped.returncode == 0, helped.stderr
        assert len(helped.stdout) > 800 and "----------------" in helped.stdout


def test_qgis_process_runs_with_json(tmp_path):
    out = qgis_process("run", "buildseg:checkdependencies", "--json", "--", "INSTALL=false",
                       f"OUTPUT={tmp_path / 'r.json'}")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["results"]["OUTPUT"] == str(tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text())["missing"] == []


def test_package_zip_follows_repository_rules():
    import zipfile

    meta = configparser.ConfigParser()
    meta.read(ROOT / "metadata.txt")
    placeholders = [k for k, v in meta["general"].items() if "PLACEHOLDER" in v]
    release = subprocess.run([sys.executable, str(ROOT / "scripts" / "package.py")], capture_output=True, text=True)
    if placeholders:  # a release zip is refused while the contact and repository are placeholders
        assert release.returncode == 2 and all(k in release.stderr for k in placeholders), release.stderr
    else:
        assert release.returncode == 0, release.stderr
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "package.py"), "--allow-placeholders"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    path = out.stdout.split(" (")[0]
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        assert {n.split("/")[0] for n in names} == {"buildseg"}
        for required in ("metadata.txt", "__init__.py", "LICENSE", "plugin.py", "resources/icons/buildseg.svg",
                         "resources/models/buildings-default.safetensors"):
            assert f"buildseg/{required}" in names, required
        assert not any("__pycache__" in n or n.endswith(".pyc") or "/.venv/" in n or "/tests/" in n for n in names)
    assert os.path.getsize(path) <= 25 * 2**20


def test_qgis_process_help_prints_the_first_sentence_once_without_tags(qgis_app):
    """qgis_process prints an algorithm's short description and then its help: the help there leaves the first
    sentence out and shows no HTML tags (before, 13 of 16 algorithms printed it twice, with raw <b> tags); the
    dialog still gets the whole help as HTML."""
    from qgis.core import QgsApplication

    algs = QgsApplication.processingRegistry().providerById("buildseg").algorithms()
    for alg in algs:  # the dialog's help (this test process is no qgis_process)
        assert alg.shortHelpString().startswith(alg.shortDescription().split(" ")[0]), alg.name()
    for alg in algs:
        out = subprocess.run([str(ROOT / "scripts" / "qgis_process"), "help", alg.id()], capture_output=True,
                             text=True, timeout=120, env=dict(os.environ, QT_QPA_PLATFORM="offscreen")).stdout
        description = out.split("Description\n----------------\n", 1)[1].split("\n----------------\nArguments")[0]
        first = alg.shortDescription()
        assert len(first) > 20 and description.count(first) == 1, (alg.id(), description[:300])
        assert not re.search(r"</?(b|i|br|p)>", description), alg.id()
