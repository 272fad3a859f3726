"""Start the real QGIS desktop under Xvfb with BuildSeg enabled in a private profile and run a plan
through tests/desktop/driver.py. Used by tests/test_desktop.py and scripts/desktop_screenshots.py."""

import json
import os
import shutil
import subprocess
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
DRIVER = Path(__file__).resolve().parent / "driver.py"


def make_profile(home: Path, settings: dict = None) -> Path:
    """A profiles folder whose `default` profile has BuildSeg linked and enabled."""
    prof = home / "profiles" / "default"
    (prof / "python" / "plugins").mkdir(parents=True, exist_ok=True)
    link = prof / "python" / "plugins" / "buildseg"
    if not link.exists():
        link.symlink_to(ROOT)
    ini = ["[PythonPlugins]", "buildseg=true", "", "[qgis]", "checkVersion=false", "showTips=false",
           "[core]", "NewsFeed\\httpsfeedqgisorg\\disabled=true"]
    for section, values in (settings or {}).items():
        ini += ["", f"[{section}]"] + [f"{k}={v}" for k, v in values.items()]
    (prof / "QGIS").mkdir(exist_ok=True)
    (prof / "QGIS" / "QGIS3.ini").write_text("\n".join(ini) + "\n")
    return home  # QGIS appends "profiles"


def run_plan(steps: list, work: Path, timeout: int = 900, settings: dict = None):
    """Run `steps` in a fresh desktop; returns (exit code, report dict or None, QGIS's output)."""
    work = Path(work)
    shots = work / "shots"
    shots.mkdir(parents=True, exist_ok=True)
    plan = {"report": str(work / "report.json"), "shots": str(shots), "steps": steps}
    (work / "plan.json").write_text(json.dumps(plan))
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}  # the real xcb platform, with GL
    env.update(BUILDSEG_DESKTOP_PLAN=str(work / "plan.json"), QGIS_LOG_FILE=str(work / "qgis-messages.log"),
               XDG_RUNTIME_DIR=str(work / "runtime"),
               PYTHONPATH=os.pathsep.join(filter(None, [sysconfig.get_paths()["purelib"],
                                                       os.environ.get("PYTHONPATH")])))
    (work / "runtime").mkdir(mode=0o700, exist_ok=True)
    cmd = [shutil.which("xvfb-run") or "xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", "qgis",
           "--profiles-path", str(make_profile(work / "home", settings)), "--nologo", "--noversioncheck",
           "--code", str(DRIVER)]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=work)
        code, output = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        code, output = "timeout", str(exc.stdout or "") + str(exc.stderr or "")
    report = json.loads((work / "report.json").read_text()) if (work / "report.json").exists() else None
    return code, report, output
