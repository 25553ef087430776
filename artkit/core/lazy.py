"""Packages whose public names load their modules (and torch) only on first use.

A package's ``__init__`` maps each public name to the submodule that defines it; importing the
package then costs nothing, so a ``cli.py`` inside it keeps ``--help`` instant:

    >>> getattr_, dir_ = lazy_exports("artkit.core", {"ArtkitError": "errors"})
    >>> getattr_("ArtkitError").__name__
    'ArtkitError'
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: name → ``package.<module>.<name>``, imported
    on first access and then kept in the package's namespace.

    Args:
        package: the package's ``__name__``.
        exports: public name → the submodule (relative to the package) that defines it.
    """

    def getattr_(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module '{package}' has no attribute '{name}'")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)
        return value

    def dir_() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return getattr_, dir_
