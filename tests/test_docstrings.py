"""numpydoc validation of every public object's docstring.

The objects are those :func:`~skdisco.utils.discovery.all_public_objects`
finds (every name in the ``__all__`` of ``skdisco`` and of its public
modules): each function and class, and each public method (name without a
leading underscore) that skdisco defines on a public class -- methods inherited
from scikit-learn or torch are documented there. The other public names are
constants (tuples, dicts), which have no docstring of their own; a test below
asserts that nothing callable is among them.
"""

import inspect

import pytest
from numpydoc.validate import validate

from skdisco.utils.discovery import all_public_objects

#: GL08 no docstring, PR01 parameter not documented, PR02 documented parameter
#: that does not exist, PR10 no space before the colon of a parameter, RT03
#: return value without description, SS01 no summary, EX01 no Examples.
CODES = frozenset({"GL08", "PR01", "PR02", "PR10", "RT03", "SS01", "EX01"})
#: Methods need no Examples section: their class has one.
METHOD_CODES = CODES - {"EX01"}

PUBLIC = all_public_objects()


def _is_documented_kind(obj):
    return inspect.isclass(obj) or inspect.isfunction(obj)


def _own_public_methods(cls):
    for name, member in inspect.getmembers(cls):
        if name.startswith("_") or not callable(member):
            continue
        if not (inspect.isfunction(member) or inspect.ismethod(member)):
            continue
        module = inspect.getmodule(member)
        if module is not None and module.__name__.split(".")[0] == "skdisco":
            yield name


def _cases():
    for path, obj in PUBLIC:
        if not _is_documented_kind(obj):
            continue
        yield pytest.param(path, CODES, id=path)
        if inspect.isclass(obj):
            for name in _own_public_methods(obj):
                yield pytest.param(f"{path}.{name}", METHOD_CODES, id=f"{path}.{name}")


CASES = list(_cases())


def test_public_objects_not_validated_are_constants():
    callables = [
        path for path, obj in PUBLIC if callable(obj) and not _is_documented_kind(obj)
    ]
    assert not callables
    validated = {case.values[0] for case in CASES}
    assert "skdisco.scorers.LogMEScorer.partial_fit" in validated
    assert "skdisco.features.IMAGE_EXTENSIONS" not in validated


@pytest.mark.parametrize("path, codes", CASES)
def test_docstring_is_valid_numpydoc(path, codes):
    errors = [
        f"{code}: {message}"
        for code, message in validate(path)["errors"]
        if code in codes
    ]
    assert not errors, f"{path}:\n" + "\n".join(errors)
