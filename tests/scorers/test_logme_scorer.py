"""LogMEScorer: fitted attributes, partial_fit, and model selection.

check_estimator and the scorer checks run over every scorer in tests/test_common.py.
"""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from skdisco.scorers import LogMEScorer
from skdisco.transferability import logme

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def test_logme_scorer_fitted_attributes():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 8))
    y = np.array(["cat", "dog", "emu"])[rng.integers(0, 3, 120)]
    scorer = LogMEScorer().fit(X, y)
    assert scorer.task_ == "classification"
    np.testing.assert_array_equal(scorer.classes_, ["cat", "dog", "emu"])
    for name in ("evidence_", "alpha_", "beta_", "n_iter_"):
        assert getattr(scorer, name).shape == (3,)
    assert scorer.coef_.shape == (3, 8)
    assert scorer.score_ == pytest.approx(scorer.evidence_.mean())
    assert scorer.score_ == logme(X, y)
    assert scorer.n_samples_seen_ == 120


def test_logme_scorer_regression_has_no_classes():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((80, 5))
    # Noisy: a target the features fit exactly has no maximum evidence.
    scorer = LogMEScorer().fit(X, X @ np.ones(5) + rng.standard_normal(80))
    assert scorer.task_ == "regression"
    assert not hasattr(scorer, "classes_")


def test_logme_scorer_score_on_new_data_leaves_fit_untouched():
    rng = np.random.default_rng(2)
    X, X2 = rng.standard_normal((100, 6)), rng.standard_normal((90, 6))
    y, y2 = rng.integers(0, 2, 100), rng.integers(0, 2, 90)
    scorer = LogMEScorer().fit(X, y)
    before = scorer.score_
    assert scorer.score(X2, y2) == pytest.approx(logme(X2, y2), rel=1e-12)
    assert scorer.score_ == before
    assert scorer.score(X, y) == before


def test_logme_scorer_score_rejects_wrong_feature_count():
    rng = np.random.default_rng(3)
    scorer = LogMEScorer().fit(rng.standard_normal((50, 4)), rng.integers(0, 2, 50))
    with pytest.raises(ValueError, match="features"):
        scorer.score(rng.standard_normal((50, 5)), rng.integers(0, 2, 50))


def _chunks(n, sizes):
    edges = np.cumsum([0, *sizes])
    assert edges[-1] == n
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]


@pytest.mark.parametrize("n,d", [(400, 30), (60, 100)], ids=["N>D", "N<D"])
def test_logme_partial_fit_equals_in_memory_classification(n, d):
    rng = np.random.default_rng(4)
    y = rng.integers(0, 4, n)
    X = rng.standard_normal((4, d))[y] + rng.standard_normal((n, d))
    full = LogMEScorer().fit(X, y)
    part = LogMEScorer()
    sizes = [n // 3, n // 3, n - 2 * (n // 3)]
    for i, sl in enumerate(_chunks(n, sizes)):
        part.partial_fit(X[sl], y[sl], classes=np.arange(4) if i == 0 else None)
    assert part.n_samples_seen_ == n
    assert part.score_ == pytest.approx(full.score_, rel=1e-9)
    np.testing.assert_allclose(part.evidence_, full.evidence_, rtol=1e-9)
    np.testing.assert_allclose(part.alpha_, full.alpha_, rtol=1e-9)


def test_logme_partial_fit_equals_in_memory_regression_float32_memmap(tmp_path):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((900, 24)).astype(np.float32)
    Y = X @ rng.standard_normal((24, 3)) + rng.standard_normal((900, 3))
    path = tmp_path / "features.npy"
    np.save(path, X)
    mm = np.load(path, mmap_mode="r")
    full = LogMEScorer().fit(X, Y)
    part = LogMEScorer()
    for sl in _chunks(900, [100, 500, 300]):
        part.partial_fit(mm[sl], Y[sl])
    assert part.task_ == "regression"
    assert part.score_ == pytest.approx(full.score_, rel=1e-9)


def test_logme_partial_fit_classes_from_first_call():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((60, 5))
    y = np.repeat([10, 20, 30], 20)
    part = LogMEScorer().partial_fit(X[:20], y[:20], classes=[10, 20, 30])
    # Classes 20 and 30 have no sample yet: LogME is not defined, no score.
    assert part.n_samples_seen_ == 20 and not hasattr(part, "score_")
    assert not hasattr(part, "evidence_")
    part.partial_fit(X[20:], y[20:])
    np.testing.assert_array_equal(part.classes_, [10, 20, 30])
    assert part.score_ == pytest.approx(logme(X, y), rel=1e-9)
    with pytest.raises(ValueError, match="not in classes"):
        part.partial_fit(X[:3], [10, 20, 99])


def test_logme_partial_fit_rejects_changed_feature_count():
    rng = np.random.default_rng(7)
    part = LogMEScorer().partial_fit(
        rng.standard_normal((20, 5)), rng.integers(0, 2, 20)
    )
    with pytest.raises(ValueError, match="features"):
        part.partial_fit(rng.standard_normal((20, 6)), rng.integers(0, 2, 20))


def test_logme_scorer_clone_and_pickle_round_trip():
    rng = np.random.default_rng(8)
    X, y = rng.standard_normal((70, 4)), rng.integers(0, 3, 70)
    scorer = LogMEScorer(method="icml", max_iter=20).fit(X, y)
    restored = pickle.loads(pickle.dumps(scorer))
    assert restored.score_ == scorer.score_
    np.testing.assert_array_equal(restored.coef_, scorer.coef_)
    assert clone(scorer).get_params() == scorer.get_params()


def _pool_4x4(X):
    return X.reshape(-1, 4, 2, 4, 2).mean(axis=(2, 4)).reshape(len(X), 16)


def _row_means(X):
    return X.reshape(-1, 8, 8).mean(axis=2)


def _noisy(X):
    return X + np.random.default_rng(0).normal(0.0, 1.0, X.shape)


def _pure_noise(X):
    return np.random.default_rng(1).standard_normal(X.shape)


def test_gridsearch_whole_set_split_ranks_digit_feature_sets():
    # Each candidate "backbone" is a transformation of the 8x8 digit images; the
    # ranking must follow how much of the image each keeps.
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    candidates = {
        "raw": None,
        "pool_4x4": _pool_4x4,
        "row_means": _row_means,
        "noisy": _noisy,
        "pure_noise": _pure_noise,
    }
    pipe = Pipeline([("extract", FunctionTransformer()), ("score", LogMEScorer())])
    whole = np.arange(len(y))
    search = GridSearchCV(
        pipe,
        {"extract__func": list(candidates.values())},
        cv=[(whole, whole)],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    names = list(candidates)
    order = [names[i] for i in np.argsort(-search.cv_results_["mean_test_score"])]
    assert order == ["raw", "pool_4x4", "row_means", "noisy", "pure_noise"]
    assert search.best_params_["extract__func"] is None
    # The search reports exactly the function's value for every candidate.
    for func, got in zip(candidates.values(), search.cv_results_["mean_test_score"]):
        feats = X if func is None else func(X)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            assert got == pytest.approx(logme(feats, y), rel=1e-12)


@pytest.mark.parametrize("factor", [1e-6, 1e3, 1e200])
def test_logme_scorer_fit_and_partial_fit_invariant_to_feature_scale(factor):
    rng = np.random.default_rng(9)
    y = rng.integers(0, 4, 300)
    X = rng.standard_normal((4, 20))[y] + rng.standard_normal((300, 20))
    base = LogMEScorer().fit(X, y)
    scaled = LogMEScorer().fit(factor * X, y)
    part = LogMEScorer()
    for sl in _chunks(300, [100, 200]):
        part.partial_fit(factor * X[sl], y[sl], classes=np.arange(4))
    assert scaled.score_ == pytest.approx(base.score_, rel=1e-10)
    assert part.score_ == pytest.approx(base.score_, rel=1e-9)
    # α scales as factor² (the weights' precision), β not at all.
    np.testing.assert_allclose(scaled.beta_, base.beta_, rtol=1e-8)
    if factor < 1e100:
        np.testing.assert_allclose(scaled.alpha_, base.alpha_ * factor**2, rtol=1e-8)


@pytest.mark.filterwarnings("error")
def test_logme_scorer_default_converges_without_warning_on_digits():
    X, y = load_digits(return_X_y=True)
    scorer = LogMEScorer().fit(X / 16.0, y)
    assert scorer.score_ == pytest.approx(0.270278, abs=1e-6)
    assert np.all(np.isfinite(scorer.alpha_)) and np.all(scorer.n_iter_ > 0)
