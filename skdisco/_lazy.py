"""Package attributes imported on first use (PEP 562), so importing stays cheap.

A package lists which submodule defines each public name; ``__getattr__``
imports that submodule the first time the name is read and keeps the value in
the package's namespace, so later reads cost nothing. ``import skdisco`` and
``import skdisco.features`` therefore load neither torch nor timm: they load
when an extractor (or anything else that needs them) is first touched.
"""

import importlib


def lazy_exports(package, namespace, names, submodules=()):
    """``(__getattr__, __dir__)`` for a package whose names load on first use.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    namespace : dict
        The package's ``globals()``; each value is stored there once imported.
    names : dict of str to str
        Public name -> submodule that defines it: relative to ``package``
        (``"_base"``), or a relative import path (``"..utils._store"``).
    submodules : tuple of str, default=()
        Submodules reachable as attributes (``skdisco.features`` without
        ``import skdisco.features``).

    Returns
    -------
    getattr, dir : callables
        To assign to the package's ``__getattr__`` and ``__dir__``.
    """

    def __getattr__(name):
        if name in names:
            where = names[name]
            if where.startswith("."):
                module = importlib.import_module(where, package)
            else:
                module = importlib.import_module(f"{package}.{where}")
            value = getattr(module, name)
            namespace[name] = value
            return value
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(namespace) | set(names) | set(submodules))

    return __getattr__, __dir__
