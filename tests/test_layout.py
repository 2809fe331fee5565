"""The package's shape: stages import one way, no module imports itself back, and the
local test servers stay out of the installed package."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "pytest_slo"

#: Each stage may import only the stages listed after it (and itself). The foundation
#: (errors, units, expressions, YAML, redaction) is importable from everywhere.
ORDER = [
    "cli",
    "plugin",
    "run",
    "incident",
    "settings",
    "kinds",
    "findings",
    "sources",
    "catalog",
    "repo",
    "foundation",
]
TOP = {
    "plugin": "plugin",
    "hookspecs": "plugin",
    "settings": "settings",
    "_optiontable": "settings",
    "__init__": "plugin",
    "__main__": "cli",
    "cli": "cli",
}


def stage(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "plugin"
    head = parts[1]
    if head in TOP:
        return TOP[head]
    return head if head in ORDER else "foundation"


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Every pytest_slo module ``path`` imports, at run time or for type checking."""
    mod = module_name(path)
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.startswith("pytest_slo"):
                for alias in node.names:  # ``from . import units`` names a module, not the package
                    sub = PKG.parent / Path(*f"{target}.{alias.name}".split("."))
                    found.add(f"{target}.{alias.name}" if sub.with_suffix(".py").exists() or sub.is_dir() else target)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("pytest_slo")}
    found.discard(mod)
    return found


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports(p) for p in sorted(PKG.rglob("*.py"))}


def test_stages_import_downwards_only():
    upward = []
    for mod, targets in graph().items():
        for target in targets:
            if ORDER.index(stage(target)) < ORDER.index(stage(mod)):
                upward.append(f"{mod} ({stage(mod)}) imports {target} ({stage(target)})")
    assert upward == []


def test_no_import_cycles():
    g = graph()
    def edges(mod: str) -> set[str]:
        return {t for t in g.get(mod, set()) if t != mod}

    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(mod: str) -> None:
        state[mod] = 1
        stack.append(mod)
        for target in sorted(edges(mod)):
            if target not in g:
                continue
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target):], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[mod] = 2

    for mod in sorted(g):
        if mod not in state:
            visit(mod)
    assert cycles == []


def test_test_servers_are_not_shipped():
    assert not (PKG / "localstack").exists()
    assert not [p for p in PKG.rglob("*.py") if "class FakeKubeAPI" in p.read_text()]


def test_every_stage_says_what_it_owns():
    stages = [p for p in PKG.iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    assert {p.name for p in stages} >= {"repo", "catalog", "kinds", "sources", "findings", "run"}
    for package in [*stages, *(PKG / "sources").iterdir()]:
        init = package / "__init__.py"
        if init.exists():
            doc = ast.get_docstring(ast.parse(init.read_text())) or ""
            assert len(doc.split()) >= 8, f"{init.relative_to(PKG.parent)} has no docstring saying what it owns"


def test_modules_stay_small():
    big = {str(p.relative_to(PKG.parent)): n for p in PKG.rglob("*.py") if (n := len(p.read_text().splitlines())) > 420}
    assert big == {}


def test_the_environment_is_read_in_settings_only():
    def reads_environment(path: Path) -> bool:
        return any(
            isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb")
            and isinstance(node.value, ast.Name) and node.value.id == "os"
            for node in ast.walk(ast.parse(path.read_text()))
        )

    readers = sorted(
        str(p.relative_to(PKG.parent)) for p in PKG.rglob("*.py") if p.name != "settings.py" and reads_environment(p)
    )
    # KubeSource.from_config(environ=None) falls back to the process environment for library use
    assert readers == ["pytest_slo/sources/kube/__init__.py"]
