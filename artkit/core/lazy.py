"""Packages whose names load on first use, so importing the package (and its ``cli.py``) stays
cheap: ``artkit colorize --help`` must not import torch.

    >>> getattr_, dir_ = lazy_exports("json", {"dumps": ""})
    >>> getattr_("dumps")([1])
    '[1]'
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any, Callable


def lazy_exports(package: str, exports: dict[str, str]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` (PEP 562) for ``exports``.

    Args:
        package: the package's name (``__name__``).
        exports: public name → the submodule that defines it (``""``: the package itself).

    Returns:
        ``(__getattr__, __dir__)``: assign them in the package's ``__init__``; a name is imported
        from its module on first access and then kept in the package's namespace.

    A public name that is also the name of its submodule (``artkit.story.evaluate``, the
    function, defined in the module ``artkit/story/evaluate.py``) keeps meaning the function:
    importing the submodule does not replace it on the package (the module stays importable,
    ``from artkit.story.evaluate import read_labels``).
    """
    shadowed = frozenset(n for n, m in exports.items() if n == m)
    if shadowed:
        class _Package(types.ModuleType):
            def __setattr__(self, name: str, value: Any) -> None:
                if name in shadowed and isinstance(value, types.ModuleType):
                    return
                super().__setattr__(name, value)

        sys.modules[package].__class__ = _Package

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module '{package}' has no attribute '{name}'")
        value = getattr(importlib.import_module(f"{package}.{module}" if module else package),
                        name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
