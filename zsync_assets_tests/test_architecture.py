"""The layers point one way, checked on the real import graph.

The contracts live in pyproject.toml (`[tool.importlinter]`): cli -> defs -> audit -> flows |
targets -> engine -> clients -> lib, and the sandboxes import nothing of zsync's, so they stay
stand-ins for the vendors rather than mirrors of zsync's own code. No module, sandboxes
included, sits in an import cycle.
"""

from __future__ import annotations

from pathlib import Path

import grimp
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent


def test_every_layer_contract_holds(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    exit_code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True)
    report = capsys.readouterr().out
    assert exit_code == 0, report
    assert "Contracts: 2 kept, 0 broken." in report  # both contracts were read and run


def _cycles(package: str) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan), imports under
    `if TYPE_CHECKING:` left out: a cycle there costs nothing at run time."""
    graph = grimp.build_graph("zsync_assets", exclude_type_checking_imports=True)
    modules = sorted(m for m in graph.modules if m == package or m.startswith(package + "."))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if not imported.startswith("zsync_assets"):
                continue
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(component)

    for module in modules:
        if module not in index:
            visit(module)
    return found


def test_zsync_has_no_import_cycle():
    """Sandboxes included: their modules map to sections of the vendors' references, and a
    section that needs another's private helper is a seam in the wrong place."""
    assert _cycles("zsync_assets") == []
