"""Ranking-quality measures against scipy, a naive oracle and hand-computed cases."""

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from skdisco.datasets import load_finetune_benchmark
from skdisco.selection import (
    evaluate_ranking,
    kendall_tau,
    pearson_correlation,
    top_k_relative_accuracy,
    weighted_kendall_tau,
)


def naive_weighted_tau(x, y):
    """Vigna's weighted τ, hyperbolic additive weights, averaged over both orders.

    Written from the formula (O(n²) pairs), independent of scipy's algorithm.
    """

    def one(rank_by):
        order = np.lexsort((-np.asarray(rank_by[1]), -np.asarray(rank_by[0])))
        rank = np.empty(len(x), int)
        rank[order] = np.arange(len(x))
        w = 1.0 / (rank + 1.0)
        num = dx = dy = 0.0
        for i, j in itertools.combinations(range(len(x)), 2):
            wij = w[i] + w[j]
            sx, sy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
            num += wij * sx * sy
            dx += wij * (sx != 0)
            dy += wij * (sy != 0)
        return num / np.sqrt(dx * dy)

    return (one((x, y)) + one((y, x))) / 2


@pytest.mark.parametrize("seed", range(5))
def test_weighted_kendall_tau_equals_scipy_defaults(seed):
    rng = np.random.default_rng(seed)
    n = 11
    truth = rng.uniform(60, 95, n)
    scores = truth + rng.normal(scale=5, size=n)
    ours = weighted_kendall_tau(scores, truth)
    assert ours == stats.weightedtau(scores, truth).statistic
    assert ours == pytest.approx(naive_weighted_tau(scores, truth), rel=1e-12)


def test_weighted_kendall_tau_with_ties_equals_scipy_and_oracle():
    scores = np.array([0.3, 0.3, 0.9, 0.1, 0.5, 0.5])
    truth = np.array([70.0, 75.0, 90.0, 60.0, 80.0, 80.0])
    ours = weighted_kendall_tau(scores, truth)
    assert ours == stats.weightedtau(scores, truth).statistic
    assert ours == pytest.approx(naive_weighted_tau(scores, truth), rel=1e-12)


def test_weighted_kendall_tau_weighs_top_swaps_more():
    truth = np.arange(10.0, 0.0, -1.0)
    top_swap = truth.copy()
    top_swap[[0, 1]] = top_swap[[1, 0]]
    bottom_swap = truth.copy()
    bottom_swap[[8, 9]] = bottom_swap[[9, 8]]
    assert weighted_kendall_tau(top_swap, truth) < weighted_kendall_tau(
        bottom_swap, truth
    )
    # plain Kendall τ cannot tell the two apart
    assert kendall_tau(top_swap, truth) == kendall_tau(bottom_swap, truth)


def test_kendall_and_pearson_equal_scipy():
    rng = np.random.default_rng(3)
    s, t = rng.normal(size=9), rng.normal(size=9)
    assert kendall_tau(s, t) == stats.kendalltau(s, t).statistic
    assert pearson_correlation(s, t) == pytest.approx(np.corrcoef(s, t)[0, 1])
    # A constant input has no correlation: an error naming it (issue 14), not NaN.
    with pytest.raises(ValueError, match="scores are all equal"):
        pearson_correlation([1.0, 1.0, 1.0], t[:3])


def test_top_k_relative_accuracy_hand_computed():
    scores = [0.1, 0.9, 0.5, 0.7]
    truth = [95.0, 80.0, 90.0, 85.0]
    assert top_k_relative_accuracy(scores, truth, k=1) == pytest.approx(80 / 95)
    assert top_k_relative_accuracy(scores, truth, k=3) == pytest.approx(90 / 95)
    assert top_k_relative_accuracy(scores, truth, k=4) == 1.0
    assert top_k_relative_accuracy(scores, truth, k=10) == 1.0
    # ties keep the given order (stable): the first of two equal scores wins
    assert top_k_relative_accuracy([1.0, 1.0], [50.0, 100.0], k=1) == 0.5


@pytest.mark.parametrize(
    "scores, truth, match",
    [
        ([1.0, np.nan], [1.0, 2.0], "NaN"),
        ([1.0, 2.0], [1.0, np.inf], "NaN or infinity"),
        ([1.0, 2.0, 3.0], [1.0, 2.0], "one value per model"),
        ([1.0], [2.0], "At least 2 models"),
    ],
)
def test_rank_correlations_reject_bad_input(scores, truth, match):
    for f in (weighted_kendall_tau, kendall_tau, pearson_correlation):
        with pytest.raises(ValueError, match=match):
            f(scores, truth)


def test_top_k_relative_accuracy_rejects_non_positive_truth():
    with pytest.raises(ValueError, match="positive"):
        top_k_relative_accuracy([1.0, 2.0], [0.0, -1.0])


def _ranking(models, **scores):
    table = pd.DataFrame({"model": models, **scores})
    for name in scores:
        table[f"{name}_rank"] = table[name].rank(ascending=False).astype("Int64")
    return table


def test_evaluate_ranking_against_benchmark_row():
    acc = load_finetune_benchmark()
    row = acc.loc["Cars"]
    rng = np.random.default_rng(0)
    noisy = row.to_numpy() + rng.normal(scale=2.0, size=row.shape[0])
    ranking = _ranking(list(row.index), perfect=row.to_numpy(), noisy=noisy)
    ranking.loc[len(ranking)] = ["vit_not_in_truth", 1e9, 1e9, 1, 1]
    result = evaluate_ranking(ranking, acc, dataset="Cars", k=[1, 3])
    assert list(result.index) == ["perfect", "noisy"]
    assert result.loc["perfect", "weighted_kendall_tau"] == pytest.approx(1.0)
    assert result.loc["perfect", "top1_relative_accuracy"] == 1.0
    assert result.loc["noisy", "weighted_kendall_tau"] == pytest.approx(
        stats.weightedtau(noisy, row.to_numpy()).statistic
    )
    assert result.loc["noisy", "top3_relative_accuracy"] == pytest.approx(
        top_k_relative_accuracy(noisy, row.to_numpy(), k=3)
    )
    assert (result["n_models"] == 11).all()  # the model without truth is left out


def test_evaluate_ranking_drops_failed_models():
    ranking = _ranking(["a", "b", "c"], s=[0.9, np.nan, 0.1])
    result = evaluate_ranking(ranking, {"a": 90.0, "b": 99.0, "c": 80.0}, k=1)
    assert result.loc["s", "n_models"] == 2
    assert result.loc["s", "weighted_kendall_tau"] == pytest.approx(1.0)


def test_evaluate_ranking_accepts_model_accuracy_table_and_series():
    ranking = _ranking(["a", "b", "c"], s=[0.9, 0.5, 0.1])
    table = pd.DataFrame({"model": ["c", "b", "a"], "accuracy": [70.0, 80.0, 90.0]})
    series = pd.Series({"a": 90.0, "b": 80.0, "c": 70.0})
    a = evaluate_ranking(ranking, table)
    b = evaluate_ranking(ranking, series)
    pd.testing.assert_frame_equal(a, b)


def test_evaluate_ranking_reports_bad_input():
    ranking = _ranking(["a", "b"], s=[0.9, 0.1])
    acc = load_finetune_benchmark()
    with pytest.raises(ValueError, match="dataset="):
        evaluate_ranking(ranking, acc)
    with pytest.raises(ValueError, match="not a row"):
        evaluate_ranking(ranking, acc, dataset="ImageNet")
    with pytest.raises(ValueError, match="Model names must match"):
        evaluate_ranking(ranking, acc, dataset="Cars")
    with pytest.raises(ValueError, match="not a column"):
        evaluate_ranking(ranking, {"a": 1.0, "b": 2.0}, scorers="logme")


@pytest.mark.parametrize(
    "scores, truth, match",
    [
        ([0.5, 0.5, 0.5], [70.0, 80.0, 90.0], "scores are all equal"),
        ([0.1, 0.5, 0.9], [80.0, 80.0, 80.0], "truth is the same"),
    ],
    ids=["tied_scores", "constant_truth"],
)
def test_rank_correlations_constant_input_raise_named_error(scores, truth, match):
    # scipy returns NaN here; a NaN correlation would pass on silently.
    for f in (weighted_kendall_tau, kendall_tau, pearson_correlation):
        with pytest.raises(ValueError, match=match):
            f(scores, truth)


def test_top_k_relative_accuracy_one_model_raises():
    # One model is trivially the best: 1.0 would claim a perfect selection.
    with pytest.raises(ValueError, match="At least 2 models"):
        top_k_relative_accuracy([0.3], [80.0])


def test_evaluate_ranking_tied_scorer_row_is_nan_with_warning():
    ranking = _ranking(["a", "b", "c"], good=[0.9, 0.5, 0.1], flat=[7.0, 7.0, 7.0])
    truth = {"a": 90.0, "b": 80.0, "c": 70.0}
    with pytest.warns(UserWarning, match="'flat' cannot be evaluated: scores are"):
        result = evaluate_ranking(ranking, truth, k=1)
    metrics = ["weighted_kendall_tau", "kendall_tau", "pearson"]
    metrics.append("top1_relative_accuracy")
    assert result.loc["flat", metrics].isna().all()
    assert result.loc["flat", "n_models"] == 3
    # the other scorer is still evaluated
    assert result.loc["good", metrics].tolist() == pytest.approx([1.0, 1.0, 1.0, 1.0])


def test_evaluate_ranking_constant_truth_rows_are_nan_with_warning():
    ranking = _ranking(["a", "b", "c"], s=[0.9, 0.5, 0.1])
    with pytest.warns(UserWarning, match="truth is the same"):
        result = evaluate_ranking(ranking, {"a": 80.0, "b": 80.0, "c": 80.0})
    assert result.loc["s"].drop(["n_models", "kind"]).isna().all()
