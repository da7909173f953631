"""The package's layout is its architecture: layers import one way, modules and functions stay
small, the theory speaks its own vocabulary, and only the command line parses arguments."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "market"
MODULES = sorted(PACKAGE.rglob("*.py"))

#: Each layer and the market.* packages it may not import (imports point down only).
FORBIDDEN = {
    "numerics": ("theory", "pricing", "scenario", "sim", "io", "plots", "cli", "api", "run"),
    "theory": ("pricing", "scenario", "sim", "io", "plots", "cli", "api", "run"),
    "pricing": ("scenario", "sim", "io", "plots", "cli", "api", "run"),
    "scenario": ("sim", "io", "plots", "cli", "api", "run"),
    "sim": ("io", "plots", "cli", "api", "run"),
    "io": ("plots", "cli", "api"),
    "plots": ("cli", "api", "run", "sim", "pricing", "scenario", "theory"),
}
#: Longest module (lines) and function (lines, docstring excluded).
MAX_MODULE = 400
MAX_FUNCTION = 60


def _layer(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    """Every market.* module a file imports (at any depth, lazily or not)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m == "market" or m.startswith("market.")}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path):
    forbidden = FORBIDDEN.get(_layer(path), ())
    bad = sorted(
        m for m in _imports(path) if len(m.split(".")) > 1 and m.split(".")[1] in forbidden
    )
    assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_and_functions_are_small(path):
    text = path.read_text()
    assert text.count("\n") <= MAX_MODULE, f"{path.name}: {text.count(chr(10))} lines"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                length -= first.end_lineno - first.lineno + 1
            assert length <= MAX_FUNCTION, f"{path.name}: {node.name} has {length} lines"


def test_only_the_command_line_parses_arguments():
    users = [p for p in MODULES if "argparse" in {m for m in _all_imports(p)}]
    assert all(_layer(p) == "cli" for p in users), users


def _all_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize(
    "path",
    [p for p in MODULES if _layer(p) in ("theory", "numerics")],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_theory_speaks_its_own_vocabulary(path):
    # Scenario field paths belong to the scenario layer, which names the file and the field.
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for field in ("information.", "urgency.", "policies[", "market.users"):
                assert field not in node.value or node.value.startswith(("market.", ":")), (
                    path.name,
                    node.value[:80],
                )


def test_public_api():
    import market as mk

    for name in (
        "load_scenario", "scenario_from_dict", "solve", "simulate", "compare", "Solution",
        "SolvedPolicy", "Run", "Scenario", "ScenarioError",
    ):  # fmt: skip
        assert name in mk.__all__ and getattr(mk, name) is not None
    with pytest.raises(AttributeError):
        _ = mk.no_such_name
