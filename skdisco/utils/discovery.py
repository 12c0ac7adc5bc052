"""Find skdisco's public objects and estimators by walking the package.

Like :func:`sklearn.utils.discovery.all_estimators`: nothing is listed by hand.
The public modules are ``skdisco`` and every module under it whose dotted path
has no part starting with an underscore; the public objects are the names in
their ``__all__``. The common tests (``tests/test_common.py``) run scikit-learn's
and skdisco's checks over :func:`all_estimators`, and validate the docstring of
every object :func:`all_public_objects` returns.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

__all__ = ["all_estimators", "all_public_objects"]


def _public_modules():
    """Every public module of skdisco that declares ``__all__``, imported."""
    package = importlib.import_module("skdisco")
    names = ["skdisco"]
    for info in pkgutil.walk_packages(package.__path__, "skdisco."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    modules = [importlib.import_module(name) for name in sorted(names)]
    return [module for module in modules if hasattr(module, "__all__")]


def all_public_objects():
    """Every name in the ``__all__`` of a public skdisco module, once each.

    An object exported by several modules (``skdisco.LogMEScorer`` is
    ``skdisco.scorers.LogMEScorer``) is returned once, under the last module
    in sorted order that exports it (the subpackage, not ``skdisco``);
    constants are included.

    Returns
    -------
    objects : list of (str, object) tuples
        The dotted public path (``"skdisco.scorers.LogMEScorer"``) and the
        object, sorted by path.

    Examples
    --------
    >>> from skdisco.utils.discovery import all_public_objects
    >>> paths = [path for path, _ in all_public_objects()]
    >>> "skdisco.transferability.logme" in paths
    True
    >>> "skdisco.logme" in paths  # the same function, found first above
    False
    """
    # ``skdisco`` re-exports from the subpackages: the last module in sorted
    # order that exports an object is the most specific one.
    objects = {}
    for module in reversed(_public_modules()):
        for name in module.__all__:
            obj = getattr(module, name)
            objects.setdefault(id(obj), (f"{module.__name__}.{name}", obj))
    return sorted(objects.values(), key=lambda item: item[0])


def all_estimators():
    """Every scikit-learn estimator class that skdisco exports.

    The public classes (see :func:`all_public_objects`) that derive from
    :class:`sklearn.base.BaseEstimator`, except base classes: abstract classes
    and those named ``Base...`` (``BaseScorer``, ``BaseFeatureExtractor``),
    which are templates to derive from, not estimators to use.

    Returns
    -------
    estimators : list of (str, type) tuples
        Class name and class, sorted by name.

    Examples
    --------
    >>> from skdisco.utils.discovery import all_estimators
    >>> names = [name for name, _ in all_estimators()]
    >>> "LogMEScorer" in names and "TimmFeatureExtractor" in names
    True
    >>> "BaseScorer" in names
    False
    """
    from sklearn.base import BaseEstimator

    found = {
        obj.__name__: obj
        for _, obj in all_public_objects()
        if inspect.isclass(obj)
        and issubclass(obj, BaseEstimator)
        and not inspect.isabstract(obj)
        and not obj.__name__.startswith("Base")
    }
    return sorted(found.items())
