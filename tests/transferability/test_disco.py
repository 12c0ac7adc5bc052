"""DISCO: naive-oracle agreement, properties, hard examples, detection, bad input."""

import itertools
import warnings

import numpy as np
import pytest
from scipy.special import logsumexp, softmax
from scipy.stats import ortho_group
from sklearn.covariance import OAS
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from skdisco.transferability import (
    disco,
    disco_components,
    disco_detection,
    disco_detection_components,
)
from skdisco.transferability._disco import (
    _Spectrum,
    hard_example_indices,
    make_groups,
)

ATOL = 1e-8


# --------------------------------------------------------------------------- #
# an independent, naive DISCO: explicit SVD, loops over groups, folds, samples
# --------------------------------------------------------------------------- #
def naive_groups(r, n_groups, group_size):
    if group_size is not None:
        return [list(range(i, min(i + group_size, r))) for i in range(0, r, group_size)]
    n_groups = min(n_groups, r)
    base, extra = divmod(r, n_groups)
    out, start = [], 0
    for g in range(n_groups):
        size = base + (1 if g < extra else 0)
        out.append(list(range(start, start + size)))
        start += size
    return out


def naive_shrink(S, residuals, shrinkage):
    if shrinkage == "oas":
        return OAS(assume_centered=True).fit(residuals).covariance_
    p = S.shape[0]
    return (1 - shrinkage) * S + shrinkage * np.trace(S) / p * np.eye(p)


def naive_folds(Z, y, n_folds):
    key = (Z**2).sum(axis=1)
    fold = np.empty(len(y), dtype=int)
    for c in np.unique(y):
        members = [i for i in range(len(y)) if y[i] == c]
        members.sort(key=lambda i: (key[i], i))
        for rank, i in enumerate(members):
            fold[i] = rank % n_folds
    return [np.flatnonzero(fold == k) for k in range(n_folds) if np.any(fold == k)]


def naive_disco(
    F,
    y,
    *,
    n_groups=2,
    group_size=None,
    centering=False,
    covariance="isotropic",
    shrinkage="oas",
    posterior="cross_validated",
    n_folds=5,
    task="classification",
):
    F = np.asarray(F, dtype=np.float64)
    N, d = F.shape
    Z = F - F.mean(axis=0) if centering else F.copy()
    U, s, Vt = np.linalg.svd(Z, full_matrices=False)
    r = int(np.sum(s**2 > s[0] ** 2 * max(N, d) * np.finfo(float).eps))
    s = s[:r]
    P = U[:, :r] * s
    groups = naive_groups(r, n_groups, group_size)
    ratios = np.array([s[g].sum() for g in groups]) / s.sum()
    if task == "regression":
        Y = np.asarray(y, dtype=float).reshape(N, -1)
        Y = (Y - Y.mean(0)) / Y.std(0)
        scores = []
        for g in groups:
            Zg = U[:, g] @ np.diag(s[g]) @ Vt[g]
            coef = np.linalg.lstsq(Zg, Y, rcond=None)[0]
            scores.append(-np.mean((Y - Zg @ coef) ** 2))
        return ratios @ np.array(scores), ratios, np.array(scores)
    classes, yi = np.unique(y, return_inverse=True)
    C = len(classes)
    folds = [np.arange(N)] if posterior == "in_sample" else naive_folds(Z, yi, n_folds)
    scores = []
    for g in groups:
        Pg = P[:, g]
        k = len(g)
        if covariance in ("shared", "isotropic"):
            all_means = np.array([Pg[yi == c].mean(0) for c in range(C)])
            R = Pg - all_means[yi]
            S_shared = naive_shrink(R.T @ R / N, R, shrinkage)
            if covariance == "isotropic":  # pooled within-class variance
                S_shared = np.trace(R.T @ R / N) / k * np.eye(k)
        total = 0.0
        for rows in folds:
            train = np.setdiff1d(np.arange(N), rows) if len(rows) < N else rows
            mus, covs, priors = [], [], []
            for c in range(C):
                Xc = Pg[train][yi[train] == c]
                mus.append(Xc.mean(0))
                priors.append(len(Xc) / len(train))
                if covariance == "class":
                    Rc = Xc - Xc.mean(0)
                    covs.append(naive_shrink(Rc.T @ Rc / len(Xc), Rc, shrinkage))
                elif covariance in ("shared", "isotropic"):
                    covs.append(S_shared)
                else:
                    covs.append(np.eye(k))
            for i in rows:
                logits = np.empty(C)
                for c in range(C):
                    diff = Pg[i] - mus[c]
                    logits[c] = -0.5 * diff @ np.linalg.inv(covs[c]) @ diff
                    logits[c] += np.log(priors[c])
                    if covariance == "class":
                        logits[c] -= 0.5 * np.linalg.slogdet(covs[c])[1]
                total += softmax(logits)[yi[i]]
        scores.append(total / N)
    scores = np.array(scores)
    return ratios @ scores, ratios, scores


def blobs(n=60, d=12, C=3, sep=2.0, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % C
    rng.shuffle(y)
    centres = sep * rng.standard_normal((C, d))
    X = centres[y] + rng.standard_normal((n, d)) * rng.uniform(0.5, 2.0, d)
    return X + 1.5, y


COMBOS = list(
    itertools.product(
        ["isotropic", "shared", "class", "identity"],
        ["cross_validated", "in_sample"],
        [True, False],
        [0.3, "oas"],
        [(3, None), (4, 5)],
        [(60, 12), (24, 40)],
    )
)


@pytest.mark.parametrize(
    "covariance, posterior, centering, shrinkage, grouping, shape", COMBOS
)
def test_disco_matches_naive_oracle_classification(
    covariance, posterior, centering, shrinkage, grouping, shape
):
    n, d = shape
    X, y = blobs(n=n, d=d, seed=n + d)
    n_groups, group_size = grouping
    assert_matches_oracle(
        X,
        y,
        n_groups=n_groups,
        group_size=group_size,
        centering=centering,
        covariance=covariance,
        shrinkage=shrinkage,
        posterior=posterior,
    )


def assert_matches_oracle(X, y, **kw):
    """DISCO's ratios, group scores and score agree with the naive oracle."""
    res = disco_components(X, y, hard_examples=None, **kw)
    expected, ratios, scores = naive_disco(X, y, **kw)
    np.testing.assert_allclose(res.ratios, ratios, rtol=0, atol=ATOL)
    np.testing.assert_allclose(res.group_scores, scores, rtol=0, atol=ATOL)
    assert res.score == pytest.approx(expected, abs=ATOL)
    return res


@pytest.mark.parametrize("centering", [True, False])
@pytest.mark.parametrize("grouping", [(3, None), (2, 7)])
@pytest.mark.parametrize("shape, k", [((80, 10), 1), ((80, 10), 3), ((30, 50), 2)])
def test_disco_matches_naive_oracle_regression(centering, grouping, shape, k):
    rng = np.random.default_rng(k)
    X = rng.standard_normal(shape) @ rng.standard_normal((shape[1], shape[1]))
    Y = X[:, :k] @ rng.standard_normal((k, k)) + rng.standard_normal((shape[0], k))
    n_groups, group_size = grouping
    kw = dict(n_groups=n_groups, group_size=group_size, centering=centering)
    res = disco_components(X, Y if k > 1 else Y[:, 0], task="regression",
                           regression_score="in_sample", **kw)
    expected, ratios, scores = naive_disco(X, Y, task="regression", **kw)
    np.testing.assert_allclose(res.group_scores, scores, rtol=0, atol=ATOL)
    assert res.score == pytest.approx(expected, abs=ATOL)
    assert -1.0 - ATOL <= res.score <= 0.0


@pytest.mark.parametrize("shrinkage", [0.0, 0.25])
def test_disco_in_sample_shared_matches_sklearn_lda(shrinkage):
    X, y = blobs(n=90, d=9, seed=3)
    res = disco_components(
        X,
        y,
        n_groups=3,
        posterior="in_sample",
        shrinkage=shrinkage,
        hard_examples=None,
        covariance="shared",
        centering=True,
    )
    Z = X - X.mean(0)
    U, s, _ = np.linalg.svd(Z, full_matrices=False)
    P = U * s
    for g, score in zip(res.groups, res.group_scores):
        lda = LinearDiscriminantAnalysis(solver="lsqr", shrinkage=shrinkage)
        proba = lda.fit(P[:, g], y).predict_proba(P[:, g])
        assert score == pytest.approx(proba[np.arange(len(y)), y].mean(), abs=ATOL)


def test_disco_oas_coefficients_match_sklearn_oas():
    X, y = blobs(n=70, d=8, seed=5)
    res = disco_components(
        X, y, n_groups=2, hard_examples=None, covariance="shared", centering=True
    )
    assert len(res.shrinkage) == 2
    P = np.linalg.svd(X - X.mean(0), full_matrices=False)
    P = P[0] * P[1]
    for g, coef in zip(res.groups, res.shrinkage):
        Pg = P[:, g]
        means = np.array([Pg[y == c].mean(0) for c in range(3)])
        assert coef == pytest.approx(
            OAS(assume_centered=True).fit(Pg - means[y]).shrinkage_, abs=1e-10
        )


def test_disco_linear_and_coordinate_paths_agree():
    # G·C < r uses Z W (no coordinates); G·C ≥ r forms P: same numbers.
    X, y = blobs(n=200, d=30, C=3, seed=1)
    kw = dict(hard_examples=None, covariance="shared")
    a = disco_components(X, y, n_groups=3, **kw)  # 9 < 30: linear
    b = disco_components(X, y, group_size=1, **kw)  # 90 ≥ 30
    Xw = np.hstack([X, np.zeros((200, 0))])
    c = disco_components(Xw[:, :9], y, n_groups=3, **kw)  # 9 ≥ 9
    e = naive_disco(X[:, :9], y, n_groups=3, covariance="shared")[0]
    assert c.score == pytest.approx(e, abs=ATOL)
    a_naive = naive_disco(X, y, n_groups=3, covariance="shared")[0]
    assert a.score == pytest.approx(a_naive, abs=ATOL)
    b_naive = naive_disco(X, y, group_size=1, covariance="shared")[0]
    assert b.score == pytest.approx(b_naive, abs=ATOL)


@pytest.fixture
def forbid_back_transform(monkeypatch):
    """Fail if DISCO forms V = Q W (the d × d back-transformation)."""

    def _no_v(self):
        raise AssertionError("V was back-transformed on the factored path")

    monkeypatch.setattr(_Spectrum, "V", property(_no_v))


@pytest.mark.parametrize("rank", ["full", "deficient"])
@pytest.mark.parametrize("posterior", ["cross_validated", "in_sample"])
@pytest.mark.parametrize("centering", [True, False])
@pytest.mark.parametrize(
    "covariance, grouping",
    [
        ("identity", (2, None)),
        ("identity", (3, None)),
        ("isotropic", (2, None)),
        ("isotropic", (3, None)),
        ("shared", (2, None)),
    ],
)
def test_disco_factored_eigenvectors_match_oracle(
    forbid_back_transform, covariance, grouping, centering, posterior, rank
):
    # d = 60 with 2 classes: the Vᵀ / V products need fewer than r columns, so V
    # stays factored as Q W (identity with all directions kept: the last group's
    # projector is the complement of the others'). Rank-deficient features
    # (six duplicated columns) take the path without the complement.
    X, y = blobs(n=200, d=60, C=2, seed=7)
    if rank == "deficient":
        X = np.hstack([X[:, :54], X[:, :6]])
    n_groups, group_size = grouping
    res = assert_matches_oracle(
        X,
        y,
        n_groups=n_groups,
        group_size=group_size,
        centering=centering,
        covariance=covariance,
        posterior=posterior,
    )
    assert res.singular_values.shape[0] == (60 if rank == "full" else 54)


@pytest.fixture
def forbid_dual_coordinates(monkeypatch):
    """Fail if DISCO forms the coordinates of every component (dual form)."""

    def _no_p(self):
        if not self.primal:
            raise AssertionError("every component's coordinates were formed")

    monkeypatch.setattr(_Spectrum, "P", property(_no_p))


@pytest.mark.parametrize("posterior", ["cross_validated", "in_sample"])
@pytest.mark.parametrize(
    "covariance, grouping",
    [
        ("isotropic", (2, None)),
        ("isotropic", (3, None)),
        ("isotropic", (4, 5)),
        ("identity", (2, None)),
        ("identity", (4, None)),
    ],
)
def test_disco_dual_last_group_needs_no_eigenvectors(
    forbid_dual_coordinates, covariance, grouping, posterior
):
    # N ≤ d, every kernel direction kept, an isotropic class model: the last
    # group's inner products are those over every direction minus the other
    # groups', so only the leading groups' coordinates are formed. The numbers
    # are the naive oracle's (an explicit SVD, loops over samples).
    X, y = blobs(n=90, d=100, C=3, seed=11)
    n_groups, group_size = grouping
    assert_matches_oracle(
        X, y, n_groups=n_groups, group_size=group_size, covariance=covariance,
        posterior=posterior,
    )


@pytest.mark.parametrize("integer", [False, True])
def test_disco_dual_last_group_by_subtraction_equals_its_eigenvectors(
    monkeypatch, integer
):
    # The same score through the last group's own eigenvectors (the path the
    # cost rule takes when N · (its width) ≤ d · (C + 1)), to 1e-12; with
    # integer features whose rows tie on their norm in pairs, the folds'
    # tie-breaks read the leading coordinates only.
    import skdisco.transferability._disco as mod

    X, y = blobs(n=150, d=160, C=4, seed=5)
    if integer:
        X = np.round(X)
        y[1::2] = y[::2]
        X[1::2] = np.random.default_rng(0).permuted(X[::2], axis=1)
    kw = dict(hard_examples=None)
    by_subtraction = [disco(X, y, n_groups=g, **kw) for g in (2, 3)]
    calls = []
    real = mod._dual_complement
    monkeypatch.setattr(mod, "_dual_complement", lambda *a: calls.append(1) or real(*a))
    assert [disco(X, y, n_groups=g, **kw) for g in (2, 3)] == by_subtraction
    assert len(calls) == 2
    monkeypatch.setattr(mod, "_dual_complement_pays", lambda *a: False)
    direct = [disco(X, y, n_groups=g, **kw) for g in (2, 3)]
    assert len(calls) == 2
    np.testing.assert_allclose(by_subtraction, direct, rtol=1e-12)


@pytest.mark.parametrize("posterior", ["cross_validated", "in_sample"])
@pytest.mark.parametrize("covariance", ["isotropic", "identity"])
def test_disco_forms_only_the_leading_groups_eigenvectors(
    forbid_back_transform, monkeypatch, covariance, posterior
):
    # d = 30, C = 3, two groups: cross-validated, Q on the 30 columns of the
    # five folds' sums and weights costs more than forming the 15 columns of V
    # the leading group uses, so those (and only those) are formed; in sample
    # (6 columns) V stays factored. The complement needs none.
    widths = []
    real = _Spectrum.lead_v

    def lead_v(self, k):
        widths.append(k)
        return real(self, k)

    monkeypatch.setattr(_Spectrum, "lead_v", lead_v)
    X, y = blobs(n=200, d=30, C=3, seed=4)
    assert_matches_oracle(X, y, covariance=covariance, posterior=posterior)
    assert widths == ([15] if posterior == "cross_validated" else [])


@pytest.mark.parametrize("centering", [True, False])
def test_disco_regression_keeps_eigenvectors_factored(forbid_back_transform, centering):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((120, 30)) @ rng.standard_normal((30, 30))
    Y = X[:, :2] @ rng.standard_normal((2, 2)) + rng.standard_normal((120, 2))
    kw = dict(n_groups=3, centering=centering)
    res = disco_components(X, Y, task="regression", regression_score="in_sample",
                           **kw)
    expected, _, scores = naive_disco(X, Y, task="regression", **kw)
    np.testing.assert_allclose(res.group_scores, scores, rtol=0, atol=ATOL)


def test_disco_float32_chunks_match_float64_on_factored_path(monkeypatch):
    # float32 features enter the Gram matrix, the row norms that assign folds and
    # the per-fold class sums a bounded chunk at a time (one pass each).
    import skdisco.transferability._linalg as linalg

    X, y = blobs(n=150, d=40, C=2, seed=2)
    X32 = X.astype(np.float32)
    whole = disco_components(X32, y, hard_examples=None)
    calls = []
    real = linalg.iter_float64_chunks

    def small_chunks(X, chunk_bytes=None):
        calls.append(X.shape)
        return real(X, 7 * X.shape[1] * 8)  # 7 rows at a time

    monkeypatch.setattr(linalg, "iter_float64_chunks", small_chunks)
    chunked = disco_components(X32, y, hard_examples=None)
    # centered_gram and class_sums; the fold keys and the posteriors are
    # per-block reductions (row_values, reduce_blocks), chunked on their own.
    assert calls == [(150, 40)] * 2
    assert chunked.score == pytest.approx(whole.score, abs=1e-12)
    expected = naive_disco(X32.astype(np.float64), y)[0]
    assert whole.score == pytest.approx(expected, abs=ATOL)


# --------------------------------------------------------------------------- #
# properties
# --------------------------------------------------------------------------- #
def test_disco_ratios_sum_to_one_and_contributions_sum_to_score():
    X, y = blobs(n=120, d=20)
    for kw in ({"n_groups": 4}, {"group_size": 3}, {"n_groups": 20}):
        res = disco_components(X, y, **kw)
        assert res.ratios.sum() == pytest.approx(1.0, abs=1e-12)
        assert res.contributions.sum() == pytest.approx(res.score, abs=1e-12)
        np.testing.assert_array_equal(np.concatenate(res.groups), np.arange(20))


@pytest.mark.parametrize("covariance", ["isotropic", "shared", "class", "identity"])
@pytest.mark.parametrize("posterior", ["cross_validated", "in_sample"])
def test_disco_classification_score_within_unit_interval(covariance, posterior):
    for seed in range(3):
        X, y = blobs(n=60, d=10, sep=seed * 3.0, seed=seed)
        res = disco_components(X, y, covariance=covariance, posterior=posterior)
        assert np.all((res.group_scores >= 0) & (res.group_scores <= 1))
        assert 0.0 <= res.score <= 1.0


def test_disco_invariant_to_sample_order_and_label_renaming():
    X, y = blobs(n=150, d=16)
    base = disco(X, y, random_state=3)
    perm = np.random.default_rng(0).permutation(150)
    assert disco(X[perm], y[perm], random_state=3) == pytest.approx(base, rel=1e-9)
    names = np.array(["zeta", "alpha", "mid"])[y]
    assert disco(X, names, random_state=3) == pytest.approx(base, rel=1e-9)
    assert disco(X, 10 * y + 7, random_state=3) == pytest.approx(base, rel=1e-9)


@pytest.mark.parametrize("kind", ["ndarray", "dask", "callable"])
@pytest.mark.parametrize("shape", [(1797, 64), (60, 100)])
def test_disco_of_rows_that_tie_on_their_norm_does_not_depend_on_their_order(
    kind, shape
):
    # Integer features: many rows of a class share their norm (79 of
    # scikit-learn's digits). Ranked by the norm alone they took their folds in
    # the order given, and the score moved by 2.6e-4 under a permutation.
    import dask.array as da
    from sklearn.datasets import load_digits

    if shape[0] == 1797:  # primal: N > D
        X, y = load_digits(return_X_y=True)
    else:  # dual: N < D, rows of small integers
        rng = np.random.default_rng(2)
        y = np.arange(60) % 3
        X = rng.integers(0, 3, (60, 100)).astype(float)
        X[:, :3] += 2 * np.eye(3)[y]
    base = disco(X, y)

    def wrap(F):
        if kind == "dask":
            return da.from_array(F, chunks=(500, -1))
        if kind == "callable":
            chunks = np.array_split(F, 4)
            return lambda: iter(chunks)
        return F

    for seed in range(3):
        perm = np.random.default_rng(seed).permutation(X.shape[0])
        got = disco(wrap(X[perm]), y[perm])
        assert got == pytest.approx(base, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("covariance", ["isotropic", "shared", "class", "identity"])
@pytest.mark.parametrize("shape", [(90, 12), (30, 45)])
def test_disco_invariant_to_orthogonal_rotation(covariance, shape):
    X, y = blobs(n=shape[0], d=shape[1], seed=7)
    Q = ortho_group.rvs(shape[1], random_state=0)
    a = disco(X, y, covariance=covariance)
    b = disco(X @ Q, y, covariance=covariance)
    assert a == pytest.approx(b, abs=1e-9)


def test_disco_informative_beats_noise():
    X, y = blobs(n=200, d=16, sep=2.0)
    noise = np.random.default_rng(1).standard_normal(X.shape) * X.std(0)
    for post in ("cross_validated", "in_sample"):
        assert disco(X, y, posterior=post) > disco(noise, y, posterior=post) + 0.1


@pytest.mark.parametrize("covariance", ["isotropic", "shared", "identity"])
def test_disco_more_separation_never_lowers_score(covariance):
    # Classes differ along 3 of 12 equal-variance directions; scaling the class
    # offsets up must not lower the score (same noise, same labels).
    rng = np.random.default_rng(0)
    n, C = 240, 4
    y = np.arange(n) % C
    offsets = np.zeros((C, 12))
    offsets[:, :3] = rng.standard_normal((C, 3))
    noise = rng.standard_normal((n, 12))
    scores = [
        disco(noise + t * offsets[y], y, covariance=covariance, n_groups=3)
        for t in (0.0, 0.5, 1.0, 2.0, 4.0, 8.0)
    ]
    assert np.all(np.diff(scores) >= -1e-12), scores


def test_disco_cross_validated_below_in_sample_on_noise():
    # Held-out posteriors of pure noise sit at chance; in-sample ones above it.
    X = np.random.default_rng(0).standard_normal((100, 40))
    y = np.arange(100) % 4
    cv = disco(X, y, n_groups=2)
    ins = disco(X, y, n_groups=2, posterior="in_sample")
    assert cv < ins
    assert cv == pytest.approx(0.25, abs=0.03)


def test_disco_random_state_changes_folds_deterministically():
    X, y = blobs(n=100, d=10)
    a = disco(X, y, random_state=0)
    assert disco(X, y, random_state=0) == a
    assert disco(X, y, random_state=np.random.RandomState(0)) == a
    assert disco(X, y, random_state=1) != disco(X, y)


def test_disco_float32_matches_float64():
    X, y = blobs(n=120, d=10)
    X32 = X.astype(np.float32)
    assert disco(X32, y) == pytest.approx(disco(X32.astype(np.float64), y), abs=1e-12)


# --------------------------------------------------------------------------- #
# hard examples
# --------------------------------------------------------------------------- #
def test_hard_examples_match_sklearn_lda_ranking():
    X, y = blobs(n=200, d=8, C=4, sep=1.5, seed=2)
    keep = hard_example_indices(X, y, 4, 50, shrinkage=0.2)
    lda = LinearDiscriminantAnalysis(solver="lsqr", shrinkage=0.2).fit(X, y)
    q = lda.predict_proba(X)[np.arange(200), y]
    expected = np.sort(np.argsort(q, kind="stable")[:50])
    np.testing.assert_array_equal(keep, expected)
    res = disco_components(X, y, hard_examples=50, shrinkage=0.2, covariance="shared")
    np.testing.assert_array_equal(res.sample_indices, expected)
    assert res.score == pytest.approx(
        naive_disco(X[expected], y[expected], shrinkage=0.2, covariance="shared")[0],
        abs=ATOL,
    )


def test_hard_examples_do_not_depend_on_the_order_of_the_samples():
    # Well-separated classes: every true-class posterior rounds to 1.0 in
    # float64. Ranking the posterior itself kept the first rows in the order
    # given (and DISCO moved by 5e-5 under a permutation at N = 30 000); the
    # log-odds of error rank them exactly.
    rng = np.random.default_rng(5)
    y = np.arange(1200) % 4
    X = rng.standard_normal((1200, 6)) + 40.0 * np.eye(4, 6)[y]
    keep = hard_example_indices(X, y, 4, 300, shrinkage=0.2)
    perm = rng.permutation(1200)
    kept_perm = hard_example_indices(X[perm], y[perm], 4, 300, shrinkage=0.2)
    np.testing.assert_array_equal(np.sort(perm[kept_perm]), keep)
    a = disco(X, y, hard_examples=300)
    assert disco(X[perm], y[perm], hard_examples=300) == pytest.approx(a, rel=1e-12)
    # The kept rows are the LDA's 300 hardest by the log-odds of the wrong
    # classes (scikit-learn's discriminant, the same shrinkage), not the first.
    lda = LinearDiscriminantAnalysis(solver="lsqr", shrinkage=0.2).fit(X, y)
    L = lda.decision_function(X)
    rows = np.arange(1200)
    L -= L[rows, y][:, None]
    L[rows, y] = -np.inf
    odds = logsumexp(L, axis=1)
    np.testing.assert_array_equal(keep, np.sort(np.argsort(-odds)[:300]))
    assert not np.array_equal(keep, np.arange(300))


@pytest.mark.parametrize("centering", [False, True])
@pytest.mark.parametrize("covariance", ["isotropic", "shared"])
def test_most_rows_kept_take_their_gram_by_subtraction(monkeypatch, centering,
                                                       covariance):
    # More than half kept: the kept rows' Gram matrix is all rows' (from the
    # ranking's pass) minus the dropped rows', moved to the kept rows' mean
    # (or the origin). The score is the kept rows' own, to 1e-12.
    import skdisco.transferability._disco as mod

    calls = []
    real = mod._kept_gram
    monkeypatch.setattr(mod, "_kept_gram", lambda *a: calls.append(1) or real(*a))
    X, y = blobs(n=400, d=20, C=4, seed=8)
    X += 30.0  # a mean far from the origin: the shift must not cancel digits
    kw = dict(centering=centering, covariance=covariance)
    res = disco_components(X, y, hard_examples=300, **kw)
    assert calls == [1] and res.sample_indices.shape[0] == 300
    rows = res.sample_indices
    direct = disco_components(X[rows], y[rows], hard_examples=None, **kw)
    assert res.score == pytest.approx(direct.score, rel=1e-12)
    np.testing.assert_allclose(res.singular_values, direct.singular_values,
                               rtol=1e-12)
    disco_components(X, y, hard_examples=150, **kw)  # fewer than half: direct
    assert calls == [1]


def test_hard_examples_keep_two_per_class_and_are_deterministic():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], [100, 100, 10])
    X = rng.standard_normal((210, 5))
    X[y == 2] += 50.0  # class 2 is trivially easy: never among the hardest
    res = disco_components(X, y, hard_examples=0.1)
    kept = np.bincount(y[res.sample_indices], minlength=3)
    assert kept.min() >= 2
    assert kept[2] == 2
    again = disco_components(X, y, hard_examples=0.1)
    np.testing.assert_array_equal(res.sample_indices, again.sample_indices)
    assert res.score == again.score


def test_hard_examples_auto_off_below_threshold_on_above():
    X, y = blobs(n=120, d=6)
    assert disco_components(X, y).sample_indices is None
    res = disco_components(X, y, hard_examples_threshold=60)
    # 60 hardest, plus the two hardest of any class left with fewer than two
    assert 60 <= res.sample_indices.shape[0] <= 60 + 2 * 3
    assert np.bincount(y[res.sample_indices]).min() >= 2
    assert (
        disco_components(
            X, y, hard_examples=None, hard_examples_threshold=60
        ).sample_indices
        is None
    )


# --------------------------------------------------------------------------- #
# detection
# --------------------------------------------------------------------------- #
def test_disco_detection_minmax_sum():
    cls = np.array([0.3, 0.9, 0.5, 0.7])
    reg = np.array([-0.2, -0.6, -0.1, -0.4])
    expected = (cls - 0.3) / 0.6 + (reg + 0.6) / 0.5
    np.testing.assert_allclose(disco_detection(cls, reg), expected, atol=1e-12)
    with pytest.warns(UserWarning, match="classification score is the same"):
        constant = disco_detection([1.0, 1.0], [0.0, 2.0])
    np.testing.assert_array_equal(constant, [0, 1])


@pytest.mark.parametrize(
    "n, d, sampled", [(60, 100, False), (400, 12, False), (20_060, 6, True)]
)
def test_disco_detection_components_are_the_two_disco_scores(n, d, sampled):
    # Both targets share one decomposition when every box is scored (dual and
    # primal); above the hard-example threshold the labels are scored on the
    # sampled boxes and the coordinates on all of them. Either way the two
    # components are the two DISCO scores computed apart, to the last bit.
    rng = np.random.default_rng(n + d)
    labels = rng.integers(0, 4, n)
    boxes = rng.normal(size=(n, 4))
    X = rng.normal(size=(n, d))
    X[:, 0] += labels
    X[:, 1:5] += boxes
    expected = [
        disco(X, labels, task="classification", random_state=0),
        disco(X, boxes, task="regression", random_state=0),
    ]
    components = disco_detection_components(X, np.column_stack([labels, boxes]))
    np.testing.assert_array_equal(components, expected)
    kept = disco_components(X, labels, random_state=0).sample_indices
    assert (kept is not None) == sampled


@pytest.mark.parametrize(
    "cls, reg, match",
    [
        ([0.1, 0.2], [0.1], "models"),
        ([np.nan, 0.2], [0.1, 0.2], "NaN"),
        ([], [], "non-empty"),
        ([[0.1]], [[0.1]], "1-D"),
    ],
)
def test_disco_detection_bad_input(cls, reg, match):
    with pytest.raises(ValueError, match=match):
        disco_detection(cls, reg)


# --------------------------------------------------------------------------- #
# bad input and fall-backs
# --------------------------------------------------------------------------- #
def test_disco_bad_features_raise():
    X, y = blobs(n=30, d=4)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        disco(Xn, y)
    with pytest.raises(ValueError, match="2D"):
        disco(X[:, 0], y)
    with pytest.raises(ValueError, match="samples"):
        disco(X, y[:-1])
    with pytest.raises(ValueError, match="single class"):
        disco(X, np.zeros(30))
    with pytest.raises(ValueError, match="at least 2 samples"):
        disco(X, np.r_[np.zeros(29), 1])
    with pytest.raises(ValueError, match="constant"):
        disco(np.ones((30, 4)), y)


def test_disco_more_groups_than_components_falls_back_with_warning():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2)) @ rng.standard_normal((2, 6))  # rank 2
    y = np.arange(40) % 2
    with pytest.warns(UserWarning, match="exceeds the 2 non-zero"):
        res = disco_components(X, y, n_groups=5)
    assert len(res.groups) == 2 and res.singular_values.shape == (2,)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert disco_components(X, y, group_size=1).score == res.score


def test_disco_class_covariance_small_classes_raise():
    X, y = blobs(n=40, d=6)
    y = y.copy()
    y[:2] = 9  # a class of two samples: one per training part in cross-validation
    y[2:] = np.where(y[2:] == 9, 0, y[2:])
    with pytest.raises(ValueError, match="covariance='class'"):
        disco(X, y, covariance="class")
    # in-sample it has 2 samples; without shrinkage its covariance is singular
    with pytest.raises(ValueError, match="singular"):
        disco(
            X, y, covariance="class", posterior="in_sample", shrinkage=0.0, n_groups=1
        )
    assert 0 <= disco(X, y, covariance="shared") <= 1


def test_disco_shared_covariance_singular_without_shrinkage_raises():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 12))
    y = np.arange(8) % 4  # N - C = 4 < 8 dims in one group
    with pytest.raises(ValueError, match="singular"):
        disco(X, y, n_groups=1, shrinkage=0.0, covariance="shared")


def test_disco_regression_bad_input_raises():
    X = np.random.default_rng(0).standard_normal((30, 4))
    with pytest.raises(ValueError, match="constant"):
        disco(X, np.ones(30), task="regression")
    with pytest.raises(ValueError, match="classification only"):
        disco(X, np.arange(30.0), task="regression", hard_examples=10)
    with pytest.raises(ValueError, match="n_groups"):
        disco(X, np.arange(30.0), n_groups=0)


# --------------------------------------------------------------------------- #
# scale invariance (issue 14): the default covariance, and huge or tiny features
# --------------------------------------------------------------------------- #
SCALES = (1e-6, 1e-3, 0.1, 30.0, 1e3, 1e6)


def four_classes(seed=0, n=400, d=16, sep=0.5):
    """Four balanced, overlapping Gaussian classes (chance 0.25)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 4
    return sep * rng.standard_normal((4, d))[y] + rng.standard_normal((n, d)), y


def test_disco_default_ignores_feature_norm_where_identity_did_not():
    # The case, on this example: the identity covariance scored
    # 0.254, 0.488, 0.546 at 0.1x, 1x, 30x (post-ReLU at 0.2x, 1x, 5x:
    # 0.254, 0.354, 0.531); the isotropic default scores 0.481 (0.441) at all.
    X, y = four_classes()
    old = [disco(s * X, y, covariance="identity") for s in (0.1, 1.0, 30.0)]
    np.testing.assert_allclose(old, [0.254, 0.488, 0.546], atol=5e-4)
    new = [disco(s * X, y) for s in (0.1, 1.0, 30.0)]
    np.testing.assert_allclose(new, 0.481, atol=5e-4)
    R = np.maximum(X, 0.0)
    old = [disco(s * R, y, covariance="identity") for s in (0.2, 1.0, 5.0)]
    np.testing.assert_allclose(old, [0.254, 0.354, 0.531], atol=5e-4)
    np.testing.assert_allclose(
        [disco(s * R, y) for s in (0.2, 1.0, 5.0)], 0.441, atol=5e-4
    )


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"posterior": "in_sample"},
        {"n_groups": 4, "centering": True},
        {"covariance": "shared"},
        {"covariance": "shared", "shrinkage": 0.3},
        {"covariance": "class"},
        {"hard_examples": 120},
    ],
    ids=repr,
)
@pytest.mark.parametrize("shape", [(300, 16), (40, 60)])
def test_disco_invariant_to_feature_scale(kw, shape):
    X, y = four_classes(n=shape[0], d=shape[1])
    if kw.get("covariance") == "class" and shape[0] < shape[1]:
        kw = {**kw, "n_groups": 8}
    base = disco(X, y, **kw)
    for s in SCALES:
        assert disco(s * X, y, **kw) == pytest.approx(base, rel=1e-9), s


def test_disco_regression_and_multilabel_invariant_to_feature_scale():
    X, y = four_classes()
    Y = np.column_stack([X[:, 0] + X[:, 1], X[:, 2] ** 2])
    base = disco(X, Y, task="regression", n_groups=3)
    for s in SCALES:
        assert disco(s * X, Y, task="regression", n_groups=3) == pytest.approx(
            base, rel=1e-9
        )


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_disco_huge_and_tiny_features_score_in_a_scaled_basis(task):
    # Before: a Gram matrix overflowing to inf (x1e200) or underflowing to 0
    # (x1e-200) gave "The features are constant".
    X, y = four_classes()
    target = y if task == "classification" else X[:, 0] - X[:, 3]
    res = disco_components(X, target, task=task)
    for s in (1e200, 1e-200):
        big = disco_components(s * X, target, task=task)
        assert big.score == pytest.approx(res.score, rel=1e-9)
        np.testing.assert_allclose(big.singular_values, s * res.singular_values, 1e-9)
    kw = dict(hard_examples=120)
    assert disco(1e200 * X, y, **kw) == pytest.approx(disco(X, y, **kw), rel=1e-9)


def test_disco_identity_covariance_at_extreme_scales_is_its_limit():
    # The identity covariance is not invariant; at 1e200 it is its large-scale
    # limit (hard nearest centroid, as at 1e40 in the ordinary basis), at
    # 1e-200 its small-scale limit (the class priors, as at 1e-40).
    X, y = four_classes()
    kw = dict(covariance="identity")
    assert disco(1e200 * X, y, **kw) == pytest.approx(disco(1e40 * X, y, **kw))
    assert disco(1e-200 * X, y, **kw) == pytest.approx(disco(1e-40 * X, y, **kw))
    assert disco(1e-200 * X, y, **kw) == pytest.approx(0.25, abs=1e-12)


def test_many_classes_hold_each_fold_class_array_about_once():
    # Five folds × 600 classes × 256 dimensions: every K·C × d array (class
    # sums, their eigenbasis coordinates, the weights of one group) is 5.9
    # MiB. The fold weights are views of one array allocated once the
    # eigenbasis sums are freed, the fold means reuse one buffer, the class
    # sums are freed before the posterior pass and Q is applied in place: 2.4
    # such arrays besides the rows (5.1 with copies of each, 2.6 with the
    # weights allocated beside the eigenbasis sums).
    import tracemalloc

    rng = np.random.default_rng(0)
    n, d, C = 6000, 256, 600
    y = np.arange(n) % C
    X = rng.standard_normal((C, d))[y] * 0.15 + rng.standard_normal((n, d))
    unit = 5 * C * d * 8
    expected = disco(X, y)
    tracemalloc.start()
    try:
        score = disco(X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert score == expected
    assert peak - X.nbytes < 2.5 * unit


def test_a_saturated_score_warns_at_the_callers_line():
    # Eight classes spread along all six directions: 120 and 400 noise widths
    # apart every posterior of every group rounds to 1; in the second draw
    # below the score is 1 - 2e-16, 1 up to the rounding of its mean. 100
    # apart the second group's mean error is 7e-14 and 10 apart 0.12: they
    # still rank, silently.
    from skdisco.scorers import DiscoScorer
    from skdisco.utils import SaturatedScoreWarning

    rng = np.random.default_rng(0)
    y = np.arange(240) % 8
    centres, noise = rng.standard_normal((8, 6)), rng.standard_normal((240, 6))
    rounded = rng.standard_normal((8, 6))[y] * 30 + rng.standard_normal((240, 6))
    for X in (centres[y] * 120.0 + noise, centres[y] * 400.0 + noise, rounded):
        with pytest.warns(SaturatedScoreWarning, match="its maximum 1") as caught:
            score = disco(X, y)
        assert score > 1 - 1e-15
        assert caught[0].filename == __file__
        with pytest.warns(SaturatedScoreWarning) as caught:
            DiscoScorer().fit(X, y)
        assert caught[0].filename == __file__
    with pytest.warns(SaturatedScoreWarning):
        assert disco(rounded, y) < 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", SaturatedScoreWarning)
        assert 1 - 1e-12 < disco(centres[y] * 100.0 + noise, y) < 1 - 1e-14
        assert disco(centres[y] * 10.0 + noise, y) < 0.97


@pytest.mark.parametrize("d", [6, 25])
def test_v_blocks_factored_pieces_equal_the_dense_products(d):
    # With V factored, the products W_g B are formed in pieces of at most d
    # columns (runs of one group in one product) and Q applied per piece;
    # the pairs below interleave groups, leave gaps between columns and, at
    # d = 6, span several pieces (one pair wider than d on its own).
    rng = np.random.default_rng(d)
    X = rng.standard_normal((4 * d, d)) * rng.uniform(0.5, 2.0, d)
    factored = _Spectrum(X, centering=True)
    dense = _Spectrum(X, centering=True)
    V = dense.V
    groups = make_groups(factored.rank, 3)
    widths = [2, 3, 1, d + 1, 4, 2, 5]
    pairs = [
        (groups[i % 2], rng.standard_normal((len(groups[i % 2]), m)))
        for i, m in enumerate(widths)
    ]
    columns = list(np.cumsum([0] + [m + 1 for m in widths[:-1]]))[::-1]
    pairs = pairs[::-1]  # columns given out of order
    total = columns[0] + widths[-1] + 2
    out = np.full((d, total), 7.0, order="F")
    factored.v_blocks(pairs, out=out, columns=columns)
    assert factored._V is None  # nothing back-transformed
    expected = np.full((d, total), 7.0)
    for (g, B), a in zip(pairs, columns):
        expected[:, a : a + B.shape[1]] = V[:, g[0] : g[-1] + 1] @ B
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-12)
    out_dense = np.full((d, total), 7.0, order="F")
    dense.v_blocks(pairs, out=out_dense, columns=columns)
    np.testing.assert_allclose(out_dense, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("covariance", ["isotropic", "shared"])
@pytest.mark.parametrize("shape", [(300, 20), (60, 90)])
def test_disco_fold_major_posterior_equals_one_pass_over_blocks(
    monkeypatch, covariance, shape
):
    # In memory, the posterior pass gathers one fold's rows at a time; the
    # same sums as the pass over consecutive blocks (each scored fold by
    # fold), to rounding, also with blocks of a few rows.
    import skdisco.transferability._disco as mod
    from skdisco.utils._source import reduce_blocks

    X, y = blobs(n=shape[0], d=shape[1], C=4, seed=7)
    kw = dict(hard_examples=None, covariance=covariance)
    gathered = disco_components(X, y, **kw)
    calls = []
    real = mod._fold_major_sums
    monkeypatch.setattr(
        mod, "_fold_major_sums", lambda *a: calls.append(a[-1]) or real(*a)
    )
    monkeypatch.setattr(mod, "posterior_chunk_bytes", lambda d, k: 7 * 8 * d)
    small = disco_components(X, y, **kw)
    assert len(calls) == 1  # the gathered pass ran, in blocks of 7 rows
    monkeypatch.setattr(
        mod,
        "_fold_major_sums",
        lambda X, score, y, fold_of, folds, chunk: reduce_blocks(
            X, score, y, fold_of, chunk_bytes=chunk
        ),
    )
    blocks = disco_components(X, y, **kw)
    np.testing.assert_allclose(small.group_scores, gathered.group_scores, rtol=1e-13)
    np.testing.assert_allclose(blocks.group_scores, gathered.group_scores, rtol=1e-13)
    expected = naive_disco(X, y, covariance=covariance)[2]
    np.testing.assert_allclose(gathered.group_scores, expected, rtol=0, atol=ATOL)
