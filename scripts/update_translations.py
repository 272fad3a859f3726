"""Refresh i18n/*.ts from the strings BuildSeg passes through tr(), then compile them to .qm with lrelease.

    python scripts/update_translations.py      (make translations)

Strings are found statically: tr("...") calls, DISPLAY and HELP class attributes and the GROUPS names in
processing_provider/; and from the algorithms themselves: every parameter's and output's label as the provider
declares it (labels kept in tables and passed to tr() by name, which no static search finds). Existing
translations are kept; new strings are added as unfinished, strings no longer
in the code are dropped. Context: "BuildSeg" (BuildSegAlgorithm.tr).
"""

import ast
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTEXT = "BuildSeg"


def source_strings() -> list:
    found = []
    for path in sorted((ROOT / "processing_provider").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "tr":
                if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str) \
                        and node.args[0].value:
                    found.append(node.args[0].value)
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and \
                    isinstance(node.value.value, str) and node.value.value and \
                    any(getattr(t, "id", "") in ("DISPLAY", "HELP") for t in node.targets):
                found.append(node.value.value)
            elif isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "GROUPS" for t in node.targets):
                found += [v.value for v in node.value.values if isinstance(v, ast.Constant)]
    return list(dict.fromkeys(found))


def label_strings(algorithms) -> list:
    """The labels the algorithms show: display names, groups, parameter and output descriptions."""
    found = []
    for alg in algorithms:
        found += [alg.displayName(), alg.group()]
        found += [p.description() for p in alg.parameterDefinitions()]
        found += [o.description() for o in alg.outputDefinitions()]
    return list(dict.fromkeys(t for t in found if t))


def provider_algorithms() -> list:
    """The provider's algorithms, in a QGIS application of this process (started here, without a screen)."""
    import os
    import tempfile

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.core import QgsApplication

    app = QgsApplication([], False)
    app.initQgis()
    sys.path.append("/usr/share/qgis/python/plugins")  # Processing (the provider's settings use it)
    plugins = Path(tempfile.mkdtemp(prefix="buildseg-i18n-"))
    (plugins / "buildseg").symlink_to(ROOT)  # the checkout as the `buildseg` package, whatever its folder
    sys.path.insert(0, str(plugins))
    from processing.core.Processing import Processing

    Processing.initialize()
    from buildseg.processing_provider.provider import BuildSegProvider

    provider = BuildSegProvider()
    QgsApplication.processingRegistry().addProvider(provider)
    provider_algorithms.app = app  # kept alive while the strings are read
    return provider.algorithms()


def update(ts_path: Path, strings: list) -> None:
    tree = ET.parse(ts_path)
    context = tree.getroot().find("context")
    known = {m.findtext("source"): m for m in context.findall("message")}
    for text, message in known.items():
        tr = message.find("translation")
        if text not in strings:
            context.remove(message)  # gone from the code (its translation stays in git's history)
        elif tr.get("type") == "obsolete":
            del tr.attrib["type"]
    for text in strings:
        if text not in known:
            message = ET.SubElement(context, "message")
            ET.SubElement(message, "source").text = text
            ET.SubElement(message, "translation", type="unfinished")
    ET.indent(tree)
    tree.write(ts_path, encoding="utf-8", xml_declaration=True)


def main() -> int:
    strings = list(dict.fromkeys(source_strings() + label_strings(provider_algorithms())))
    lrelease = shutil.which("lrelease")
    for ts in sorted((ROOT / "i18n").glob("*.ts")):
        update(ts, strings)
        if lrelease:
            subprocess.run([lrelease, "-silent", str(ts), "-qm", str(ts.with_suffix(".qm"))], check=True)
        else:
            print(f"lrelease not found (apt install qttools5-dev-tools): {ts.name} not compiled")
    print(f"{len(strings)} strings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
