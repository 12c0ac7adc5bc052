"""The construction helper of the common tests builds instances or says why not."""

import pytest
from sklearn.base import BaseEstimator

from skdisco.features import TorchFeatureExtractor
from skdisco.scorers import HScoreScorer, LogMEScorer
from skdisco.utils._testing import construct_instances, expected_failed_checks


class _NeedsModel(BaseEstimator):
    def __init__(self, model, *, alpha=1.0):
        self.model = model
        self.alpha = alpha


def test_construct_instances_rejects_a_class_that_needs_parameters():
    with pytest.raises(ValueError, match=r"_NeedsModel needs \['model'\]"):
        construct_instances(_NeedsModel)


def test_construct_instances_builds_listed_settings_and_variants():
    plain = construct_instances(LogMEScorer)
    tasks = [s.get_params()["task"] for s in plain]
    assert tasks == ["auto", "regression", "auto", "auto"]
    assert [s.method for s in plain] == ["global", "global", "icml", "fixed_point"]
    default, pactran = construct_instances(HScoreScorer, variants=True)
    assert (default.variant, pactran.variant) == (HScoreScorer().variant, "pactran")
    assert len(construct_instances(HScoreScorer)) == 1
    (torch_ext,) = construct_instances(TorchFeatureExtractor)
    assert torch_ext.module.__class__.__name__ == "Sequential"


def test_expected_failed_checks_are_empty_for_an_unlisted_estimator():
    assert expected_failed_checks(HScoreScorer()) == {}
    assert expected_failed_checks(_NeedsModel(None)) == {}
