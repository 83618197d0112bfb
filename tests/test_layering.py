"""One-way layers: cnnkit (the reference package) ← autograder (the grader) ← cli, demo, release.

* ``cnnkit`` imports nothing from ``autograder``: a student's kernel needs only cnnkit.
* ``autograder`` uses cnnkit's public modules only (no ``cnnkit._private`` import).
* The top layer (``autograder.cli``, ``console``, ``demo``, ``release``) is imported by nothing below it.
"""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOP_LAYER = {"autograder.cli", "autograder.console", "autograder.demo", "autograder.release"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


def python_files(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


def test_cnnkit_imports_nothing_from_the_grader():
    offenders = {module_name(p): sorted(n for n in imports(p) if n.split(".")[0] == "autograder")
                 for p in python_files("cnnkit")}
    assert not {m: names for m, names in offenders.items() if names}


def test_the_grader_uses_only_cnnkits_public_modules():
    private = {}
    for path in python_files("autograder"):
        names = [n for n in imports(path) if n.startswith("cnnkit.") and any(
            part.startswith("_") for part in n.split(".")[1:])]
        if names:
            private[module_name(path)] = names
    assert not private


def test_nothing_below_the_top_layer_imports_it():
    offenders = {}
    for path in python_files("autograder"):
        name = module_name(path)
        if name in TOP_LAYER:
            continue
        bad = sorted(n for n in imports(path) if any(n == top or n.startswith(top + ".") for top in TOP_LAYER))
        if bad:
            offenders[name] = bad
    assert not offenders


def test_the_command_is_the_top_layer():
    import tomllib

    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"cnnkit": "autograder.cli:main"}
