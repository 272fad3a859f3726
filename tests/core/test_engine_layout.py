"""The engine's floors: a package imports only from its own floor or below (core at the bottom, scaleout at
the top), no modules import each other in a circle, and no module of the plugin grows past 500 lines."""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "engine"
FLOORS = ["core", "io", "models", "postprocess", "extract", "evaluation", "weak", "explain", "train", "scaleout"]


def _imports() -> dict:
    """engine module -> the engine modules it imports (relative imports, in functions too)."""
    modules = {}
    for path in ENGINE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    edges = {}
    for name, path in modules.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
                found |= {t for t in [base] + [f"{base}.{a.name}" for a in node.names] if t in modules}
        edges[name] = found - {name}
    return edges


def _floor(module: str) -> int:
    parts = module.split(".")
    return FLOORS.index(parts[1]) if len(parts) > 1 else len(FLOORS)  # engine/__init__: the top


def test_no_import_runs_up_a_floor():
    upward = [f"{a} -> {b}" for a, targets in _imports().items() for b in targets
              if _floor(b) > _floor(a) and a != "engine"]
    assert not upward, upward


def test_no_modules_import_each_other_in_a_circle():
    edges = _imports()
    circles = []

    def reach(start):
        seen, todo = set(), list(edges[start])
        while todo:
            m = todo.pop()
            if m not in seen:
                seen.add(m)
                todo.extend(edges.get(m, ()))
        return seen

    for module in edges:
        if module in reach(module):
            circles.append(module)
    assert not circles, circles


def test_no_module_over_500_lines_and_no_simple_namespace():
    long = [f"{p.relative_to(ROOT)}: {n}" for folder in ("engine", "processing_provider", "ui")
            for p in (ROOT / folder).rglob("*.py") if (n := len(p.read_text().splitlines())) > 500]
    assert not long, long
    assert not [p for p in ENGINE.rglob("*.py") if "SimpleNamespace" in p.read_text()]


def _top_level_imports(path: Path, name: str, modules: dict) -> tuple:
    """(third-party packages, engine modules) a module imports when it is imported: its top-level imports (also
    under a top-level try/if) and its parent packages."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    third, engine = set(), {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
    for stmt in ast.parse(path.read_text()).body:
        for node in ast.walk(stmt) if isinstance(stmt, (ast.Try, ast.If)) else [stmt]:
            if isinstance(node, ast.Import):
                third |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level:
                engine |= _targets(package, node, modules)
            elif isinstance(node, ast.ImportFrom):
                third.add(node.module.split(".")[0])
    return third - set(sys.stdlib_module_names), engine & set(modules)


def _targets(package: list, node: ast.ImportFrom, modules: dict) -> set:
    base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
    return {t for t in [base] + [f"{base}.{a.name}" for a in node.names] if t in modules}


def test_engine_imports_inside_functions_only_to_stay_light():
    """An engine import inside a function is there to keep a heavy package (torch, numpy, rasterio...) from loading
    with its module; one that would load nothing new goes to the top of the file (issue 47)."""
    modules = {}
    for path in ENGINE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    top = {name: _top_level_imports(path, name, modules) for name, path in modules.items()}

    def loads(name, seen=None):
        seen = set() if seen is None else seen
        if name in seen:
            return set()
        seen.add(name)
        third, engine = top[name]
        return third.union(*(loads(m, seen) for m in engine))

    needless = []
    for name, path in modules.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for fn in ast.walk(ast.parse(path.read_text())):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom) and node.level:
                    new = set().union(*(loads(t) for t in _targets(package, node, modules))) - loads(name)
                    if not new:
                        needless.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not needless, needless
