"""Imports run one way: no module imports a higher layer (retention/layers.py), including imports inside functions."""
from __future__ import annotations

import ast
from pathlib import Path

from retention.layers import LAYERS, allowed, layer_of

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("retention", "jobs", "letters")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in the file, relative ones resolved; `from pkg import mod` names pkg.mod."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            for alias in node.names:
                sub = f"{name}.{alias.name}"
                found.append((node.lineno, sub if _is_module(sub) else name))
    return [(line, name) for line, name in found if name.split(".")[0] in PACKAGES]


def project_files():
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def test_every_project_module_has_a_layer():
    missing = [str(p.relative_to(ROOT)) for p in project_files() if layer_of(_module_name(p)) is None]
    assert missing == []


def test_no_import_runs_back_up():
    wrong = []
    for path in project_files():
        importer = _module_name(path)
        for line, imported in sorted(set(imports_of(path))):
            if not allowed(importer, imported):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {imported} "
                             f"({LAYERS[layer_of(importer)[0]][0]} -> {LAYERS[layer_of(imported)[0]][0]})")
    assert wrong == [], "imports of a higher layer:\n" + "\n".join(wrong)


def test_the_check_sees_imports_inside_functions(tmp_path):
    """The parser finds a function-level import, so a cycle dodged that way is still caught."""
    source = ROOT / "retention" / "customers" / "timeline.py"
    lines = [name for _, name in imports_of(source)]
    assert "retention.customers.models" in lines
    assert not allowed("retention.customers.timeline", "retention.calls.models")
    assert not allowed("retention.postal.service", "retention.surveys.service")  # peers: no edge declared
    assert allowed("retention.calls.service", "retention.surveys.service")  # a declared edge
    assert not allowed("retention.ticker", "jobs.tick")
