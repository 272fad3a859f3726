"""The engine's floors: a package imports only from its own floor or below (core at the bottom, scaleout at
the top), no modules import each other in a circle, and no module of the plugin grows past 500 lines."""

import ast
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
