"""A package's submodules loaded on first use (PEP 562 module `__getattr__`).

`from chalicelib.services import catalog` (or `from chalicelib.api.models import cart`)
hands out a stand-in that imports the real module when an attribute is first read. Code
names its modules at the top as usual, but a Lambda container only imports what its
requests use. Imports go through importlib's import lock, so first use from several
threads (chalice local) is safe. Type checkers see the real modules. Setting an attribute
on a stand-in (a test's monkeypatch) sets it on the real module, so both names see it.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from types import ModuleType
from typing import Any


class ModuleOnFirstUse:
    __slots__ = ("_kind", "_name")

    def __init__(self, name: str, kind: str) -> None:
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_kind", kind)

    def _module(self) -> ModuleType:
        return importlib.import_module(self._name)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._module(), attribute)

    def __setattr__(self, attribute: str, value: Any) -> None:
        setattr(self._module(), attribute, value)

    def __delattr__(self, attribute: str) -> None:
        delattr(self._module(), attribute)

    def __repr__(self) -> str:
        return f"<{self._kind} {self._name}, loaded on first use>"


def submodules_on_first_use(package: str, kind: str) -> Callable[[str], Any]:
    """The `__getattr__` of `package`: a stand-in for each of its submodules."""

    def __getattr__(name: str) -> Any:
        full_name = f"{package}.{name}"
        if name.startswith("_") or importlib.util.find_spec(full_name) is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return ModuleOnFirstUse(full_name, kind)

    return __getattr__
