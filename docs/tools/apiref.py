"""Write the API reference's index from what skdisco exports at build time.

The reference cannot go stale: every object comes from
:func:`skdisco.utils.discovery.all_public_objects` (each name in the ``__all__``
of a public module), grouped by layer in the order of the design document
(``transferability`` first, ``utils`` last). ``docs/conf.py`` calls
:func:`write_api_index` before Sphinx reads the sources; autosummary then
writes one page per object under ``docs/api/generated/`` from the templates in
``docs/_templates/object.rst``. Both are build outputs (git-ignored).

An object whose module belongs to no known layer stops the build with a
``ValueError`` naming it, so a new public subpackage gets a section here
instead of silently missing from the reference.
"""

from __future__ import annotations

import importlib
import inspect
from collections import defaultdict
from pathlib import Path

#: The layers, in the order of the design document: (subpackage, title).
LAYERS = (
    ("transferability", "Transferability scores (functions)"),
    ("scorers", "Scorers (estimators)"),
    ("features", "Feature extraction"),
    ("selection", "Model selection and ranking"),
    ("finetune", "Fine-tuning"),
    ("analysis", "Analysis: why a model transfers"),
    ("datasets", "Datasets"),
    ("utils", "Utilities, tags and checks"),
)


def _summary(module_name):
    """The first paragraph of a module's docstring, as one line."""
    doc = inspect.getdoc(importlib.import_module(module_name)) or ""
    return " ".join(doc.split("\n\n")[0].split())


def _top_level():
    """A sentence listing what ``skdisco`` itself re-exports, with links."""
    import skdisco

    links = ", ".join(
        f":obj:`~skdisco.{skdisco._LAZY[name]}.{name}`" for name in skdisco.__all__
    )
    return f"The top-level ``skdisco`` namespace re-exports the most used: {links}."


def _layer(path):
    parts = path.split(".")
    if len(parts) < 3 or parts[1] not in dict(LAYERS):
        raise ValueError(
            f"{path} is public but belongs to no layer of the API reference; "
            "add its subpackage to LAYERS in docs/tools/apiref.py."
        )
    return parts[1]


def api_index(objects):
    """The reStructuredText of the API reference's index page.

    Parameters
    ----------
    objects : list of (str, object) tuples
        Dotted public paths and objects, as
        :func:`skdisco.utils.discovery.all_public_objects` returns them.

    Returns
    -------
    text : str
        One section per layer that has objects, one ``autosummary`` table per
        public module, each entry on its own page.
    """
    by_module = defaultdict(list)
    for path, _ in objects:
        module, name = path.rsplit(".", 1)
        by_module[module].append(name)
    by_layer = defaultdict(list)
    for module in sorted(by_module):
        by_layer[_layer(module + ".x")].append(module)

    lines = [
        ".. This file is written by docs/tools/apiref.py at build time.",
        "",
        ".. _api:",
        "",
        "API reference",
        "=============",
        "",
        "Every public object of skdisco, one page each, grouped by layer: data",
        "flows down this list, imports point up it. Generated from the",
        "``__all__`` of each public module when the site is built.",
        "",
        ".. py:module:: skdisco",
        "",
        _top_level(),
        "",
    ]
    for layer, title in LAYERS:
        if layer not in by_layer:
            continue
        lines += [f".. _api-{layer}:", "", title, "-" * len(title), ""]
        for module in by_layer[layer]:
            lines += [
                f".. py:module:: {module}",
                "",
                f"``{module}``: {_summary(module)}",
                "",
                f".. currentmodule:: {module}",
                "",
                ".. autosummary::",
                "   :toctree: generated/",
                "   :template: object.rst",
                "   :nosignatures:",
                "",
            ]
            lines += [f"   {name}" for name in sorted(by_module[module])]
            lines.append("")
    return "\n".join(lines)


def write_api_index(path):
    """Write the API index to ``path`` from skdisco's public objects.

    Parameters
    ----------
    path : str or pathlib.Path
        Where the page goes (``docs/api/index.rst``).

    Returns
    -------
    n_objects : int
        How many public objects the reference lists.
    """
    from skdisco.utils.discovery import all_public_objects

    objects = all_public_objects()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = api_index(objects)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return len(objects)
