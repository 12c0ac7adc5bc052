"""The scorers that cross-validate or fit a mixture pass the invariance checks.

On overlapping classes, where held-out accuracies are far from 1, the folds of
the probes and the initialisation of NLEEP's mixture decide the score: before
they were assigned from the samples' content, row order and label names moved
the linear probe (0.735 -> 0.75), the kNN probe (0.695 / 0.69 / 0.69) and NLEEP
(0.6117 -> 0.5882).
"""

import pytest
from sklearn.datasets import make_blobs
from sklearn.model_selection import StratifiedKFold

from skdisco.scorers import KNNProbeScorer, LinearProbeScorer, NLEEPScorer
from skdisco.transferability import knn_probe, linear_probe
from skdisco.utils.estimator_checks import (
    check_scorer_label_renaming_invariance,
    check_scorer_sample_order_invariance,
)


def _overlapping_blobs():
    return make_blobs(
        n_samples=200, n_features=16, centers=4, cluster_std=12.0, random_state=0
    )


SCORERS = [LinearProbeScorer(), KNNProbeScorer(), NLEEPScorer()]


@pytest.mark.parametrize("scorer", SCORERS, ids=repr)
def test_scorer_sample_order_check_passes_on_overlapping_blobs(scorer):
    X, y = _overlapping_blobs()
    check_scorer_sample_order_invariance(type(scorer).__name__, scorer, X, y)


@pytest.mark.parametrize("scorer", SCORERS, ids=repr)
def test_scorer_label_renaming_check_passes_on_overlapping_blobs(scorer):
    X, y = _overlapping_blobs()
    check_scorer_label_renaming_invariance(type(scorer).__name__, scorer, X, y)


@pytest.mark.parametrize(
    "Scorer, probe", [(LinearProbeScorer, linear_probe), (KNNProbeScorer, knn_probe)]
)
def test_probe_scorer_takes_a_splitter_like_the_function(Scorer, probe):
    X, y = _overlapping_blobs()
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    assert Scorer(cv=cv).fit(X, y).score_ == probe(X, y, cv=cv)
