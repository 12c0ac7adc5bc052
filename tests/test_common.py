"""Every check over every estimator skdisco exports, found by discovery.

scikit-learn's ``check_estimator`` suite (through ``parametrize_with_checks``)
runs over every estimator :func:`~skdisco.utils.discovery.all_estimators`
finds; the image estimators (extractors, fine-tuners), which it skips, get the
API checks that take no tabular data; skdisco's own scorer checks run over
every estimator whose tags make it a scorer. Test instances come from
``construct_instances`` and the checks known to fail from the one registry
``EXPECTED_FAILED_CHECKS`` (both in ``skdisco/utils/_testing.py``), marked
strict xfail: a listed check that passes fails here.
"""

import warnings

import pytest
from sklearn.base import ClassifierMixin, RegressorMixin, TransformerMixin
from sklearn.exceptions import SkipTestWarning
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdisco.utils import get_scorer_tags
from skdisco.utils._testing import (
    EXPECTED_FAILED_CHECKS,
    IMAGE_API_CHECKS,
    INSTANCE_PARAMS,
    SCORER_VARIANTS,
    construct_instances,
    expected_failed_checks,
)
from skdisco.utils.discovery import all_estimators
from skdisco.utils.estimator_checks import (
    make_scorer_data,
    scorer_tasks,
    yield_scorer_checks,
)

ESTIMATORS = all_estimators()


def _buildable_instances(variants=False):
    # A class without a construction is reported by
    # test_every_estimator_has_a_construction, not by a collection error.
    instances = []
    for _, Estimator in ESTIMATORS:
        try:
            instances.extend(construct_instances(Estimator, variants=variants))
        except ValueError:
            continue
    return instances


def _is_scorer(estimator):
    return getattr(get_tags(estimator), "scorer_tags", None) is not None


INSTANCES = _buildable_instances()
IMAGE_ESTIMATORS = [e for e in INSTANCES if not get_tags(e).input_tags.two_d_array]
SCORERS = [e for e in _buildable_instances(variants=True) if _is_scorer(e)]


def _xfail_marks(estimator, check_name):
    reason = expected_failed_checks(estimator).get(check_name)
    return [pytest.mark.xfail(reason=reason, strict=True)] if reason else []


@pytest.mark.parametrize("Estimator", [cls for _, cls in ESTIMATORS], ids=repr)
def test_every_estimator_has_a_construction(Estimator):
    instances = construct_instances(Estimator)
    assert instances and all(type(e) is Estimator for e in instances)


def test_discovery_finds_every_kind_of_estimator():
    classes = [cls for _, cls in ESTIMATORS]
    assert len(SCORERS) >= 15
    for mixin in (TransformerMixin, ClassifierMixin, RegressorMixin):
        assert any(issubclass(cls, mixin) for cls in classes), mixin.__name__
    names = {name for name, _ in ESTIMATORS}
    assert not any(name.startswith("Base") for name in names)


def test_registries_name_only_discovered_estimators_and_give_reasons():
    names = {name for name, _ in ESTIMATORS}
    assert set(EXPECTED_FAILED_CHECKS) <= names
    assert set(INSTANCE_PARAMS) | set(SCORER_VARIANTS) <= names
    for failures in EXPECTED_FAILED_CHECKS.values():
        assert failures and all(
            check.startswith("check_") and isinstance(reason, str) and reason
            for check, reason in failures.items()
        )


# check_estimator has no checks for the image estimators (it warns that it
# skips them): test_image_estimator_api below is where they are checked.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", SkipTestWarning)
    _SKLEARN_CHECKS = parametrize_with_checks(
        INSTANCES, expected_failed_checks=expected_failed_checks, xfail_strict=True
    )


@_SKLEARN_CHECKS
def test_sklearn_compatible_estimator(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)


def _image_api_cases():
    for estimator in IMAGE_ESTIMATORS:
        for check in IMAGE_API_CHECKS:
            yield pytest.param(
                estimator,
                check,
                id=f"{type(estimator).__name__}-{check.__name__}",
                marks=_xfail_marks(estimator, check.__name__),
            )


@pytest.mark.parametrize("estimator, check", list(_image_api_cases()))
def test_image_estimator_api(estimator, check):
    check(type(estimator).__name__, estimator)


def _scorer_check_cases():
    for scorer in SCORERS:
        input_kind = get_scorer_tags(scorer).input_kind
        for task in scorer_tasks(scorer):
            X, y, X_noise = make_scorer_data(task, input_kind)
            for _, check in yield_scorer_checks(scorer, X, y, X_noise, task):
                name = check.func.__name__
                yield pytest.param(
                    check,
                    id=f"{scorer!r}-{task}-{name}",
                    marks=_xfail_marks(scorer, name),
                )


@pytest.mark.parametrize("check", list(_scorer_check_cases()))
def test_scorer_checks(check):
    check()
