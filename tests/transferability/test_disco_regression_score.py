"""DISCO's regression readings: in-sample S_lr, leave-one-out, Bayesian evidence.

Oracles: an explicit refit without each row (``numpy.linalg.lstsq``, minimum
norm) for the leave-one-out residuals, and :func:`skdisco.transferability.logme`
on the group's explicit coordinates for the evidence.
"""

import numpy as np
import pytest

from skdisco.scorers import DiscoScorer
from skdisco.transferability import disco, disco_components, logme

ATOL = 1e-8


def coordinates(X, centering, rank):
    """Spectral coordinates ``U Σ`` of the (centred) features, explicit SVD."""
    Z = X - X.mean(axis=0) if centering else X
    U, S, _ = np.linalg.svd(Z, full_matrices=False)
    return U[:, :rank] * S[:rank]


def standardized(Y):
    Y = np.asarray(Y, dtype=np.float64).reshape(Y.shape[0], -1)
    return (Y - Y.mean(axis=0)) / Y.std(axis=0)


def naive_loo_scores(X, Y, groups, centering):
    """``-mean`` squared residual of each row predicted by a refit without it."""
    P = coordinates(X, centering, groups[-1][-1] + 1)
    Ys = standardized(Y)
    n = X.shape[0]
    out = []
    for g in groups:
        Pg = P[:, g]
        sq = 0.0
        for i in range(n):
            keep = np.arange(n) != i
            w = np.linalg.lstsq(Pg[keep], Ys[keep], rcond=None)[0]
            sq += float(np.sum((Ys[i] - Pg[i] @ w) ** 2))
        out.append(-sq / Ys.size)
    return np.array(out)


def regression_data(n, d, k=1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) @ rng.standard_normal((d, d))
    Y = X[:, :k] @ rng.standard_normal((k, k)) + rng.standard_normal((n, k))
    return X, Y if k > 1 else Y[:, 0]


@pytest.mark.parametrize("centering", [True, False])
@pytest.mark.parametrize("grouping", [dict(n_groups=1), dict(n_groups=3),
                                      dict(group_size=4)])
@pytest.mark.parametrize("shape, k", [((50, 8), 1), ((50, 8), 2), ((14, 30), 1)])
def test_loo_matches_explicit_refit_without_each_row(centering, grouping, shape, k):
    # (14, 30) uncentred in one group interpolates every row (leverage 1): its
    # residual is the minimum-norm refit's, which lstsq computes.
    X, Y = regression_data(*shape, k=k, seed=k)
    res = disco_components(X, Y, task="regression", centering=centering,
                           regression_score="loo", **grouping)
    expected = naive_loo_scores(X, Y, res.groups, centering)
    np.testing.assert_allclose(res.group_scores, expected, rtol=1e-9, atol=ATOL)
    assert res.score == pytest.approx(float(res.ratios @ expected), abs=ATOL)


def test_loo_of_interpolated_rows_is_the_minimum_norm_refit():
    X, y = regression_data(10, 25, seed=4)
    res = disco_components(X, y, n_groups=1, regression_score="loo")
    ins = disco_components(X, y, n_groups=1, regression_score="in_sample")
    assert ins.group_scores[0] == pytest.approx(0.0, abs=1e-12)  # exact fit
    expected = naive_loo_scores(X, y, res.groups, centering=False)
    assert res.group_scores[0] == pytest.approx(expected[0], rel=1e-9)
    assert np.isfinite(res.score) and res.score < -0.1


@pytest.mark.parametrize("centering", [True, False])
@pytest.mark.parametrize("shape, k", [((60, 9), 1), ((60, 9), 3), ((20, 40), 2)])
def test_evidence_equals_logme_on_the_group_coordinates(centering, shape, k):
    X, Y = regression_data(*shape, k=k, seed=10 + k)
    res = disco_components(X, Y, task="regression", n_groups=3,
                           centering=centering, regression_score="evidence")
    P = coordinates(X, centering, res.singular_values.shape[0])
    Ys = standardized(Y)
    expected = [logme(P[:, g], Ys, task="regression") for g in res.groups]
    np.testing.assert_allclose(res.group_scores, expected, rtol=1e-9, atol=ATOL)


def test_in_sample_reading_is_the_paper_s_least_squares_fit():
    X, y = regression_data(70, 12, seed=2)
    res = disco_components(X, y, n_groups=3, regression_score="in_sample")
    P = coordinates(X, False, res.singular_values.shape[0])
    ys = standardized(y)[:, 0]
    expected = []
    for g in res.groups:
        w = np.linalg.lstsq(P[:, g], ys, rcond=None)[0]
        expected.append(-np.mean((ys - P[:, g] @ w) ** 2))
    np.testing.assert_allclose(res.group_scores, expected, rtol=0, atol=ATOL)
    # one argument away: the paper's reading is this value, bit for bit
    assert disco(X, y, n_groups=3, regression_score="in_sample") == res.score


def test_noise_columns_raise_in_sample_fit_but_lower_out_of_sample_scores():
    # Wider noise: the in-sample fit of the whole space (one group) can only
    # improve; a left-out or Bayesian reading must fall.
    rng = np.random.default_rng(0)
    n = 120
    signal = rng.standard_normal((n, 3))
    y = signal @ np.array([1.0, -0.5, 0.25]) + 0.5 * rng.standard_normal(n)
    scores = {r: [] for r in ("in_sample", "loo", "evidence")}
    for width in (0, 20, 60):
        X = np.column_stack([signal, rng.standard_normal((n, width))])
        for reading in scores:
            scores[reading].append(
                disco(X, y, n_groups=1, regression_score=reading)
            )
    assert np.all(np.diff(scores["in_sample"]) > 0)
    assert np.all(np.diff(scores["loo"]) < 0)
    assert np.all(np.diff(scores["evidence"]) < 0)


@pytest.mark.parametrize("reading", ["loo", "evidence"])
def test_out_of_sample_readings_rank_informative_above_noise(reading):
    rng = np.random.default_rng(1)
    n, d = 200, 30
    X = rng.standard_normal((n, d))
    y = X[:, :5].sum(axis=1) + 0.3 * rng.standard_normal(n)
    noise = rng.standard_normal((n, d))
    assert disco(X, y, regression_score=reading) > disco(
        noise, y, regression_score=reading
    )


@pytest.mark.parametrize("reading", ["loo", "evidence"])
def test_out_of_sample_readings_invariant_to_feature_scale(reading):
    X, Y = regression_data(80, 10, k=2, seed=5)
    base = disco(X, Y, n_groups=3, regression_score=reading)
    for s in (1e-6, 1e3, 1e250):
        assert disco(s * X, Y, n_groups=3, regression_score=reading) == (
            pytest.approx(base, rel=1e-9)
        )


@pytest.mark.parametrize("reading", ["loo", "evidence"])
def test_out_of_sample_readings_stream_float32_memmap_in_chunks(
    reading, tmp_path, monkeypatch
):
    import skdisco.transferability._disco as disco_module

    X, y = regression_data(300, 20, seed=6)
    X32 = X.astype(np.float32)
    path = tmp_path / "features.npy"
    np.save(path, X32)
    mm = np.load(path, mmap_mode="r")
    whole = disco(X32, y, n_groups=4, regression_score=reading)
    # 7 rows of float64 at a time through the leave-one-out pass
    monkeypatch.setattr(disco_module, "_TRANSFORM_CHUNK_BYTES", 7 * 20 * 8)
    chunked = disco(mm, y, n_groups=4, regression_score=reading)
    assert chunked == pytest.approx(whole, rel=1e-12, abs=1e-12)
    expected = disco(X32.astype(np.float64), y, n_groups=4, regression_score=reading)
    assert whole == pytest.approx(expected, rel=1e-6)


def test_evidence_of_an_exactly_fitting_group_raises():
    # Centred features of rank N - 1 span every centred target.
    X, y = regression_data(12, 30, seed=7)
    with pytest.raises(ValueError, match="fit the target exactly"):
        disco(X, y, n_groups=1, centering=True, regression_score="evidence")
    # leave-one-out stays defined there (leverage 1 - 1/N)
    assert np.isfinite(disco(X, y, n_groups=1, centering=True,
                             regression_score="loo"))


def test_unknown_regression_score_raises():
    X, y = regression_data(30, 4)
    with pytest.raises(ValueError, match="regression_score"):
        disco(X, y, regression_score="cv")


def test_regression_score_does_not_change_classification():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((90, 6))
    y = (X[:, 0] > 0).astype(int)
    base = disco(X, y, regression_score="in_sample", random_state=0)
    for reading in ("loo", "evidence"):
        assert disco(X, y, regression_score=reading, random_state=0) == base


@pytest.mark.parametrize("reading", ["in_sample", "loo", "evidence"])
def test_scorer_matches_function(reading):
    X, Y = regression_data(60, 7, k=2, seed=8)
    scorer = DiscoScorer(n_groups=3, regression_score=reading).fit(X, Y)
    assert scorer.score_ == disco(X, Y, n_groups=3, regression_score=reading)
    assert scorer.score(X, Y) == pytest.approx(scorer.score_, abs=0)
