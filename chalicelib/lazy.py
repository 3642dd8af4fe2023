"""Imports kept off the cold start: submodules loaded on first use, optional extras left out.

Submodules on first use (PEP 562 module `__getattr__`):

`from chalicelib.services import catalog` (or `from chalicelib.api.models import cart`)
hands out a stand-in that imports the real module when an attribute is first read. Code
names its modules at the top as usual, but a Lambda container only imports what its
requests use. Imports go through importlib's import lock, so first use from several
threads (chalice local) is safe. Type checkers see the real modules. Setting an attribute
on a stand-in (a test's monkeypatch) sets it on the real module, so both names see it.

Optional extras left out (`without(package)`): some libraries import an optional package
when they find it, for features the shop does not use (PyJWT and pymysql import
cryptography for RSA); while they are imported, the package is hidden from the importing
thread.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.util
import sys
import threading
from collections.abc import Callable, Iterator
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


class _Hidden(importlib.abc.MetaPathFinder):
    """For one thread: `package` cannot be found."""

    def __init__(self, package: str) -> None:
        self.package = package
        self.thread = threading.get_ident()

    def find_spec(self, name: str, path: Any, target: Any = None) -> None:
        if name == self.package and threading.get_ident() == self.thread:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


@contextlib.contextmanager
def without(package: str) -> Iterator[None]:
    """Within the block, this thread cannot import `package` (other threads import as
    usual): what imports it finds it missing, as if it were not installed. Only a package
    not imported yet can be hidden: once loaded, a library finds it in sys.modules, and
    hiding its submodules would make a `from package import submodule` an ImportError
    where libraries expect a ModuleNotFoundError. So with `package` already loaded, the
    block imports as usual."""
    if package in sys.modules:
        yield
        return
    hidden = _Hidden(package)
    sys.meta_path.insert(0, hidden)
    try:
        yield
    finally:
        sys.meta_path.remove(hidden)
