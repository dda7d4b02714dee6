"""Dependencies point down: the network never imports the intermediate servers (nor the web or
CLI layers), and the intermediate servers never import the web or CLI layers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import fukaiji

PACKAGE = Path(fukaiji.__file__).parent


def imported_modules(package: str) -> set[str]:
    found: set[str] = set()
    for path in (PACKAGE / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("network", ("fukaiji.intermediate", "fukaiji.web", "fukaiji.cli", "fukaiji.portal")),
        ("intermediate", ("fukaiji.web", "fukaiji.cli", "fukaiji.portal", "fukaiji.protection")),
    ],
)
def test_a_package_does_not_import_the_layers_above_it(
    package: str, forbidden: tuple[str, ...]
) -> None:
    offending = {module for module in imported_modules(package) if module.startswith(forbidden)}
    assert offending == set()
