"""Drive the real QGIS desktop (started with `qgis --code driver.py`): open Processing dialogs, press Run,
wait for each run, record what a user would see, take screenshots, quit.

The plan (JSON, path in BUILDSEG_DESKTOP_PLAN): {"report": path, "shots": folder, "steps": [{"id": name,
"alg": algorithm id, "params": {...}, "timeout": s}]}. The report lists per step: finished, results, the
progress values seen, the log's last lines, the project's layers (name, group, visible, order), and whether
Mesa's libLLVM was loaded in this process (the condition of the triton crash).
"""

import hashlib
import json
import os
import time
import traceback

from qgis.core import QgsApplication, QgsProject
from qgis.PyQt.QtCore import QBuffer, QIODevice, QTimer
from qgis.PyQt.QtWidgets import QComboBox, QLabel, QProgressBar, QScrollArea, QTextEdit, QToolBar, QWidget
from qgis.utils import iface, plugins

PLAN = json.load(open(os.environ["BUILDSEG_DESKTOP_PLAN"]))
REPORT = {"steps": [], "plugins": [], "errors": []}
STATE = {"i": -1, "dlg": None, "t0": 0.0, "progress": []}


def layer_tree():
    """Layers of the project in legend order: name, group, visible."""
    out = []
    root = QgsProject.instance().layerTreeRoot()
    for node in root.findLayers():
        parent = node.parent()
        out.append({"name": node.name(), "group": parent.name() if parent is not root else "",
                    "visible": node.isVisible(), "source": node.layer().source() if node.layer() else ""})
    return out


def write_report():
    maps = open("/proc/self/maps").read()
    REPORT["libllvm_loaded"] = "libLLVM" in maps
    REPORT["triton_loaded"] = "libtriton" in maps
    REPORT["plugins"] = sorted(plugins)
    REPORT["toolbar"], REPORT["raster_menu"], REPORT["menu_icons"] = [], [], []
    if iface is not None:
        bar = iface.mainWindow().findChild(QToolBar, "BuildSegToolbar")
        REPORT["toolbar"] = [a.text() for a in bar.actions()] if bar is not None else []
        for action in iface.rasterMenu().actions():
            if action.menu() is not None and action.text().replace("&", "") == "BuildSeg":
                REPORT["raster_menu"] = [a.text() for a in action.menu().actions()]
                REPORT["menu_icons"] = [icon_digest(a.icon()) for a in action.menu().actions()]
    with open(PLAN["report"] + ".part", "w") as f:
        json.dump(REPORT, f, indent=1, default=str)
    os.replace(PLAN["report"] + ".part", PLAN["report"])


def icon_digest(icon) -> str:
    """A digest of the icon as drawn at 32 px (empty: no icon): equal digests, the same picture."""
    if icon.isNull():
        return ""
    image = icon.pixmap(32, 32).toImage()
    buffer = QBuffer()
    buffer.open(QIODevice.WriteOnly)
    image.save(buffer, "PNG")
    return hashlib.sha256(bytes(buffer.data())).hexdigest()[:16]


def shoot(widget, name):
    path = os.path.join(PLAN["shots"], name + ".png")
    widget.grab().save(path)
    return path


def guarded(fn):
    """Run a timer callback; an exception is reported and ends the session (no modal error dialog)."""
    def run(*args):
        try:
            fn(*args)
        except Exception:
            REPORT["errors"].append(traceback.format_exc())
            write_report()
            QgsApplication.exit(3)
    return run


@guarded
def start_next():
    import processing

    STATE["i"] += 1
    if STATE["i"] >= len(PLAN["steps"]):
        write_report()
        # close the project inside the event loop first: QGIS 3.22 crashes when its main window is torn
        # down with layers still in the tree (the style dock's active-layer slot), as a user never does
        QgsProject.instance().clear()
        QTimer.singleShot(1000, lambda: QgsApplication.exit(0))
        return
    step = PLAN["steps"][STATE["i"]]
    if "panel" in step:
        panel_step(step)
        return
    dlg = processing.createAlgorithmDialog(step["alg"], step.get("params", {}))
    dlg.show()
    STATE.update(dlg=dlg, t0=time.time(), progress=[])
    rec = {"id": step["id"], "alg": step["alg"], "size": [dlg.width(), dlg.height()]}
    REPORT["steps"].append(rec)
    QTimer.singleShot(1500, lambda: press_run(rec, dlg))


@guarded
def press_run(rec, dlg):
    try:
        chooser = dlg.findChild(QComboBox, "buildseg_model_chooser")
        rec["model_choices"] = [chooser.itemText(i) for i in range(chooser.count())] if chooser else None
        rec["horizontal_scroll"] = [f"{a.objectName()} {a.widget().minimumSizeHint().width()} > "
                                    f"{a.viewport().width()}" for a in dlg.findChildren(QScrollArea)
                                    if a.horizontalScrollBar().isVisible()]
        rec["too_wide"] = [
            f"{type(w).__name__} {w.text() if hasattr(w, 'text') else w.objectName()}: {w.minimumSizeHint().width()}"
            for a in dlg.findChildren(QScrollArea) for w in a.widget().findChildren(QWidget)
            if w.minimumSizeHint().width() > a.viewport().width() and w.isVisible()][:12]
        rec["optional_labels"] = [w.text() for w in dlg.findChildren(QLabel) if w.text().endswith("[optional]")]
        rec["labels"] = [w.text() for w in dlg.findChildren(QLabel)]
        rec["dialog_shot"] = shoot(dlg, rec["id"] + "_dialog")
        dlg.runButton().click()
    except Exception:
        REPORT["errors"].append(traceback.format_exc())
    QTimer.singleShot(500, poll)


@guarded
def poll():
    dlg, step, rec = STATE["dlg"], PLAN["steps"][STATE["i"]], REPORT["steps"][-1]
    bar = dlg.findChild(QProgressBar)
    if bar is not None:  # sampled, not connected: a Python slot on the dialog's bar is not ours to add
        STATE["progress"].append([bar.value(), bar.maximum()])
    log = dlg.findChild(QTextEdit, "txtLog")
    text = log.toPlainText() if log is not None else ""
    done = dlg.wasExecuted() or "Execution failed" in text or "Execution completed" in text
    if not done and time.time() - STATE["t0"] < step.get("timeout", 300):
        QTimer.singleShot(200, poll)
        return
    QTimer.singleShot(1500, lambda: finish(rec, dlg, text, done))


@guarded
def finish(rec, dlg, text, done):
    log = dlg.findChild(QTextEdit, "txtLog")
    text = log.toPlainText() if log is not None else text
    results = dlg.results()
    rec["outputs_exist"] = {k: os.path.exists(v) for k, v in results.items() if isinstance(v, str) and "/" in v}
    rec.update(finished=bool(done), executed=dlg.wasExecuted(), results=results,
               progress=STATE["progress"], log_tail=text[-8000:], seconds=round(time.time() - STATE["t0"], 1),
               layers=layer_tree())
    rec["log_shot"] = shoot(dlg, rec["id"] + "_log")
    if iface is not None:
        iface.mapCanvas().zoomToFullExtent()
        iface.mapCanvas().refreshAllLayers()
        QTimer.singleShot(2500, lambda: after_render(rec, dlg))
    else:
        after_render(rec, dlg)


@guarded
def after_render(rec, dlg):
    rec["window_shot"] = shoot(iface.mainWindow(), rec["id"] + "_window")
    html = PLAN["steps"][STATE["i"]].get("show_html")
    if html and rec["results"].get(html):
        from qgis.PyQt.QtWidgets import QTextBrowser

        view = QTextBrowser()
        view.resize(1000, 900)
        view.setHtml(open(rec["results"][html], encoding="utf-8").read())
        view.show()
        rec["html_shot"] = shoot(view, rec["id"] + "_html")
        view.close()
    dlg.close()
    write_report()
    QTimer.singleShot(500, start_next)


# --- the BuildSeg panel: {"id", "panel": action, "args": [...], "cancel_after": s, "timeout": s} ------------
def panel():
    return plugins["buildseg"].panel


@guarded
def panel_step(step):
    from qgis.core import QgsFeature, QgsGeometry

    rec = {"id": step["id"], "panel": step["panel"]}
    REPORT["steps"].append(rec)
    STATE.update(t0=time.time(), progress=[], statuses=[])
    action, args = step["panel"], step.get("args", [])
    if action == "open":
        QgsProject.instance().setPresetHomePath(args[0])
        bar = iface.mainWindow().findChild(QToolBar, "BuildSegToolbar")
        next(a for a in bar.actions() if a.objectName() == "buildseg_panel").trigger()
        rec["started"] = panel() is not None and panel().isVisible()
    elif action == "add_raster":
        layer = iface.addRasterLayer(args[0], args[1] if len(args) > 1 else "sample")
        iface.mapCanvas().setExtent(layer.extent())
        iface.mapCanvas().refresh()
        panel().raster_combo.setLayer(layer)
        rec["started"] = layer.isValid()
    elif action == "set_aoi":  # a polygon file as the area of interest, or none
        layer = iface.addVectorLayer(args[0], "aoi", "ogr") if args else None
        panel().aoi_combo.setLayer(layer)
        rec["started"] = layer is None or layer.isValid()
    elif action == "choose_model":
        panel().model_combo.setCurrentIndex(args[0])
        rec["started"] = True
    elif action == "copy_file":  # a file copied behind the panel's back (a model trained from the Toolbox)
        import shutil

        shutil.copy(args[0], args[1])
        rec["started"] = True
    elif action == "draw":  # polygons (WKT, in the label layers' CRS) into a label layer, saved
        layer = panel().labels[args[0]]
        layer.startEditing()
        for wkt in args[1]:
            feat = QgsFeature(layer.fields())
            feat.setGeometry(QgsGeometry.fromWkt(wkt))
            if layer.fields().indexOf("class") >= 0:
                feat["class"] = "building"
            layer.addFeature(feat)
        rec["started"] = layer.commitChanges()
        rec["count"] = layer.featureCount()
    elif action == "drag_rectangle":  # *Draw a rectangle*, then a drag on the map between two canvas fractions
        drag_rectangle(rec, *args)
    else:
        rec["started"] = getattr(panel(), action)(*args)
    if step.get("cancel_after"):
        QTimer.singleShot(int(step["cancel_after"] * 1000), panel().cancel)
    QTimer.singleShot(300, lambda: panel_poll(rec, step))


def drag_rectangle(rec, start, end):
    """Click the panel's *Draw a rectangle* button, record the hint the user sees, then drag on the map with
    the map tool it set (mouse events from `start` to `end`, fractions of the canvas)."""
    from qgis.gui import QgsMapMouseEvent
    from qgis.PyQt.QtCore import QEvent, QPoint, Qt
    from qgis.PyQt.QtWidgets import QPushButton

    canvas = iface.mapCanvas()
    panel().findChild(QPushButton, "buildseg_panel_draw").click()
    rec["hint"] = [item.text() for item in iface.messageBar().items()]
    tool = canvas.mapTool()
    rec["map_tool"] = type(tool).__name__
    w, h = canvas.width(), canvas.height()
    a, b = (QPoint(int(f[0] * w), int(f[1] * h)) for f in (start, end))
    tool.canvasPressEvent(QgsMapMouseEvent(canvas, QEvent.MouseButtonPress, a, Qt.LeftButton))
    tool.canvasMoveEvent(QgsMapMouseEvent(canvas, QEvent.MouseMove, b, Qt.NoButton, Qt.LeftButton))
    tool.canvasReleaseEvent(QgsMapMouseEvent(canvas, QEvent.MouseButtonRelease, b, Qt.LeftButton))
    to_map = canvas.getCoordinateTransform().toMapCoordinates
    corners = [to_map(p.x(), p.y()) for p in (a, b)]
    rec["rectangle"] = [min(c.x() for c in corners), min(c.y() for c in corners),
                        max(c.x() for c in corners), max(c.y() for c in corners)]
    rec["tool_after"] = type(canvas.mapTool()).__name__ if canvas.mapTool() is not None else None
    rec["started"] = panel().busy()


@guarded
def panel_poll(rec, step):
    STATE["progress"].append(panel().progress.value())
    if panel().status.text() not in STATE.setdefault("statuses", []):
        STATE["statuses"].append(panel().status.text())
    if panel().busy() and time.time() - STATE["t0"] < step.get("timeout", 300):
        QTimer.singleShot(300, lambda: panel_poll(rec, step))
        return
    QTimer.singleShot(1500, lambda: panel_finish(rec))


@guarded
def panel_finish(rec):
    from processing.core.ProcessingLog import ProcessingLog

    p = panel()
    run = p.run
    rec.update(finished=not p.busy(), seconds=round(time.time() - STATE["t0"], 1), progress=STATE["progress"],
               status=p.status.text(), statuses=STATE["statuses"], models=p.model_names(), model=p.model(),
               model_info=p.model_info.text(), raster=p.raster_combo.currentText(),
               min_width=p.widget().widget().minimumSizeHint().width(),
               outline=p.tile_outline.asGeometry().boundingBox().toString(1) if p.tile_outline is not None else "",
               view=iface.mapCanvas().extent().toString(1),
               rasters=[p.raster_combo.itemText(i) for i in range(p.raster_combo.count())],
               validation=p.train_log.text(), hardest=[p.hard_list.item(i).text() for i in range(p.hard_list.count())],
               run_ok=run.ok if run is not None and run.done else None,
               results={k: v for k, v in (run.results if run is not None else {}).items() if not hasattr(v, "id")},
               layers=layer_tree(), history=[e.text for e in ProcessingLog.getLogEntries()],
               editing=iface.activeLayer().isEditable() if iface.activeLayer() is not None else None,
               active_layer=iface.activeLayer().name() if iface.activeLayer() is not None else None)
    runs = os.path.join(QgsProject.instance().homePath(), "buildseg_runs")
    rec["run_files"] = sorted(os.path.relpath(os.path.join(d, f), runs) for d, _, fs in os.walk(runs) for f in fs) \
        if os.path.isdir(runs) else []
    rec["panel_shot"] = shoot(p.widget().widget(), rec["id"] + "_panel")  # the whole panel, scrolled or not
    rec["window_shot"] = shoot(iface.mainWindow(), rec["id"] + "_window")
    write_report()
    QTimer.singleShot(300, start_next)


QTimer.singleShot(2000, start_next)
