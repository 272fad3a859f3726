"""Refresh i18n/*.ts from the strings BuildSeg passes through tr(), then compile them to .qm with lrelease.

    python scripts/update_translations.py      (make translations)

Strings are found statically: tr("...") calls, DISPLAY and HELP class attributes and the GROUPS names in
processing_provider/. Existing translations are kept; new strings are added as unfinished, strings no longer
in the code are marked obsolete. Context: "BuildSeg" (BuildSegAlgorithm.tr).
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


def update(ts_path: Path, strings: list) -> None:
    tree = ET.parse(ts_path)
    context = tree.getroot().find("context")
    known = {m.findtext("source"): m for m in context.findall("message")}
    for text, message in known.items():
        tr = message.find("translation")
        if text not in strings:
            tr.set("type", "obsolete")
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
    strings = source_strings()
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
