"""What import contracts (pyproject's [tool.importlinter]) cannot say: which names a layer
may take from a module it may import."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "chalicelib" / "services"
# A service receives its unit of work from the entry point (a connection, or the
# factory when its rule spans several units); it never opens one of its own.
ENTRY_POINT_NAMES = {"transaction", "engine", "dispose_all"}


def imported_names(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == module
        for alias in node.names
    }


def test_no_service_takes_the_unit_of_work_or_the_engine_for_itself() -> None:
    offenders = {
        path.name: sorted(imported_names(path, "chalicelib.db.engine") & ENTRY_POINT_NAMES)
        for path in sorted(SERVICES.glob("*.py"))
    }

    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_check_sees_such_an_import(tmp_path: Path) -> None:
    module = tmp_path / "offender.py"
    module.write_text("def f():\n    from chalicelib.db.engine import transaction, insert_id\n")

    assert imported_names(module, "chalicelib.db.engine") == {"transaction", "insert_id"}
