"""Docstring templates: shared fragments written once, filled into many objects.

A docstring names a fragment by a placeholder ``{name}``, indented like the
text around it; :func:`fill_doc` replaces exactly the placeholders it is given
and leaves every other brace alone (``{"a", "b"}`` option sets, LaTeX), so
docstrings need no escaping.
"""

from __future__ import annotations


def fill_doc(**fragments):
    """A decorator that fills ``{name}`` placeholders of a docstring.

    Parameters
    ----------
    **fragments : str
        Text of each placeholder, keyed by its name. Continuation lines of a
        fragment carry the indentation they need in the filled docstring.

    Returns
    -------
    decorate : callable
        ``decorate(obj)`` fills ``obj.__doc__`` in place and returns ``obj``.

    Examples
    --------
    >>> from skdisco.utils._docstrings import fill_doc
    >>> @fill_doc(unit="Seconds, as a float.")
    ... def wait():
    ...     '''Wait {"a", "b"}. {unit}'''
    >>> wait.__doc__
    'Wait {"a", "b"}. Seconds, as a float.'
    """

    def decorate(obj):
        doc = obj.__doc__ or ""
        for name, text in fragments.items():
            doc = doc.replace("{" + name + "}", text)
        obj.__doc__ = doc
        return obj

    return decorate
