"""Issue 14, point 3: no silent NaN, infinity or saturated maximum.

Features of extreme magnitude give the value the method's formula gives (an
exactly rescaled basis), or a ValueError naming the problem; constant features,
two samples or one sample per class give a value the definition gives or a
ValueError; a score that sits at its maximum whatever the features warns
:class:`~skdisco.utils.SaturatedScoreWarning`.
"""

import math
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris

from skdisco.transferability import (
    etran_lda,
    gbc,
    hscore,
    knn_probe,
    linear_probe,
    nce,
    ncti_components,
    nleep,
    pactran_gauss,
    parc,
    regularized_hscore,
    sfda,
    transrate,
)
from skdisco.utils import SaturatedScoreWarning

X, Y = load_iris(return_X_y=True)


def _quiet(func, *args, **kwargs):
    """``func(*args, **kwargs)`` with every warning raised as an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return func(*args, **kwargs)


# --- scale-invariant methods: the value at 1e±200 is the value at 1 ----------

INVARIANT = {
    "gbc": gbc,
    "gbc_diagonal": lambda F, y: gbc(F, y, gaussian_type="diagonal"),
    "gbc_pca": lambda F, y: gbc(F, y, n_components=2),
    "hscore": hscore,
    "regularized_hscore": regularized_hscore,
    "transrate": transrate,
    "transrate_projection": lambda F, y: transrate(F, y, variant="official_projection"),
    "parc": parc,
    "parc_exact": lambda F, y: parc(F, y, label_ties="exact"),
    "linear_probe": linear_probe,
    "knn_probe": knn_probe,
}


@pytest.mark.parametrize("scale", [1e200, 1e300])
@pytest.mark.parametrize("name", sorted(INVARIANT))
def test_scale_invariant_score_finite_and_unchanged_at_huge_scale(name, scale):
    func = INVARIANT[name]
    expected = func(X, Y)
    assert _quiet(func, X * scale, Y) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("scale", [1e-200, 1e-150, 1e-300])
@pytest.mark.parametrize(
    "name", sorted(set(INVARIANT) - {"gbc", "gbc_diagonal", "gbc_pca"})
)
def test_scale_invariant_score_unchanged_at_tiny_scale(name, scale):
    func = INVARIANT[name]
    expected = func(X, Y)
    assert _quiet(func, X * scale, Y) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("gaussian_type", ["spherical", "diagonal"])
def test_gbc_tiny_features_below_variance_floor_overlap_fully(gaussian_type):
    # GBC's absolute variance floor (1e-4) dominates features of scale 1e-200:
    # by its definition every pair of classes overlaps, -C(C-1).
    assert _quiet(gbc, X * 1e-200, Y, gaussian_type=gaussian_type) == -6.0


def test_hscore_pactran_ridge_negligible_at_huge_scale():
    # The 1e-6 ridge is absolute: at 1e200 it vanishes against the covariance,
    # so the pactran variant equals the ridge-free (tllib) H-score.
    expected = hscore(X, Y)
    value = _quiet(hscore, X * 1e200, Y, variant="pactran")
    assert value == pytest.approx(expected, rel=1e-9)


def test_transrate_tllib_huge_scale_matches_log_formula():
    # tllib's distortion is absolute: log1p(λ s²/(nε)) = log λ + 2 log s - log nε
    # to 1e-300 at s = 1e200; the oracle takes the eigenvalues of X itself.
    s, eps = 1e200, 1e-4
    Xc = X - X.mean(axis=0)

    def rate(Z):
        lam = np.linalg.eigvalsh(Z.T @ Z)
        lam = lam[lam > lam.max() * 1e-12]
        n = Z.shape[0]
        return 0.5 * sum(math.log(v) + 2 * math.log(s) - math.log(n * eps) for v in lam)

    classes = np.unique(Y)
    expected = rate(Xc) - np.mean([rate(Xc[Y == c]) for c in classes])
    value = _quiet(transrate, X * s, Y, variant="tllib")
    assert value == pytest.approx(expected, rel=1e-9)


# --- methods whose scale enters: the scale is taken back, not overflowed ------

SCALED_BACK = {
    "sfda": sfda,
    "ncti": ncti_components,
    "etran_lda": etran_lda,
    "etran_lda_shrunk": lambda F, y: etran_lda(F, y, covariance="shrunk"),
}


@pytest.mark.parametrize("name", sorted(SCALED_BACK))
def test_scale_dependent_score_at_huge_scale_equals_its_large_scale_limit(name):
    # Their shrinkage (or logit scale) is already at its limit at 1e4; beyond,
    # the rest is invariant, so 1e200 must give the 1e4 value, finite.
    func = SCALED_BACK[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # NCTI's component count
        expected = func(X * 1e4, Y)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            value = func(X * 1e200, Y)
    np.testing.assert_allclose(value, expected, rtol=1e-9)


@pytest.mark.parametrize("name", sorted(SCALED_BACK))
def test_scale_dependent_score_at_tiny_scale_equals_its_small_scale_limit(name):
    func = SCALED_BACK[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        expected = func(X * 1e-20, Y)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            value = func(X * 1e-200, Y)
    np.testing.assert_allclose(value, expected, rtol=1e-9)


@pytest.mark.parametrize(
    "func, name",
    [(pactran_gauss, "PACTran-Gauss"), (nleep, "NLEEP")],
)
def test_not_scale_invariant_score_huge_features_raise_named_error(func, name):
    with pytest.raises(ValueError, match=f"overflow float64 when squared, and {name}"):
        func(X * 1e200, Y)


# --- constant features, two samples, one sample per class ---------------------

CONSTANT = {"zero": np.zeros_like(X), "constant": np.full_like(X, 3.0)}


@pytest.mark.parametrize("kind", sorted(CONSTANT))
@pytest.mark.parametrize("label_ties", ["reference", "exact"])
def test_parc_constant_features_raise(kind, label_ties):
    with pytest.raises(ValueError, match="equally dissimilar"):
        parc(CONSTANT[kind], Y, label_ties=label_ties)


@pytest.mark.parametrize("idx", [[0, 50], [0, 50, 100]], ids=["N2", "one_per_class"])
def test_parc_one_sample_per_class_raises(idx):
    with pytest.raises(ValueError, match="two samples of one class"):
        parc(X[idx], Y[idx])


def test_parc_one_feature_raises():
    with pytest.raises(ValueError, match="1 feature"):
        parc(X[:, :1], Y)


@pytest.mark.parametrize("kind", sorted(CONSTANT))
@pytest.mark.parametrize("variant", ["official", "official_projection", "tllib"])
def test_transrate_constant_features_score_zero(kind, variant):
    # Features that are all the mean code nothing: TransRate's rate is 0.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # rows that are the mean
        warnings.simplefilter("error", RuntimeWarning)
        assert transrate(CONSTANT[kind], Y, variant=variant) == 0.0


@pytest.mark.parametrize("kind", sorted(CONSTANT))
@pytest.mark.parametrize(
    "func, name",
    [
        (sfda, "SFDA"),
        (lambda F, y: ncti_components(F, y, n_components=4), "NCTI"),
        (lambda F, y: etran_lda(F, y, covariance="shrunk"), "ETran's shrunk LDA"),
    ],
)
def test_fisher_scores_constant_features_raise_named_error(kind, func, name):
    with pytest.raises(ValueError, match=f"{name} is undefined here: the features"):
        func(CONSTANT[kind], Y)


def test_nleep_pactran_variant_two_samples_is_finite():
    # Its component formula gives 0 components below 5 samples (an
    # OverflowError before); one component is used.
    value = _quiet(nleep, X[[0, 50]], Y[[0, 50]], variant="pactran")
    assert value == pytest.approx(math.log(0.5))


# --- saturated scores warn -----------------------------------------------------

Y8 = np.arange(8)
X8 = np.random.default_rng(0).normal(size=(8, 16))


def test_gbc_one_sample_per_class_warns_saturated():
    with pytest.warns(SaturatedScoreWarning, match="single sample"):
        assert gbc(X8, Y8) == 0.0


def test_nce_one_sample_per_class_warns_saturated():
    with pytest.warns(SaturatedScoreWarning, match="its own source label"):
        assert nce(np.arange(8), Y8) == 0.0


def test_nleep_one_sample_per_class_warns_saturated():
    with pytest.warns(SaturatedScoreWarning, match="NLEEP saturates"):
        assert nleep(X8, Y8) == pytest.approx(1.0)


def test_hscore_one_sample_per_class_warns_saturated():
    with pytest.warns(SaturatedScoreWarning, match="C - 1 = 7"):
        assert hscore(X8, Y8) == pytest.approx(7.0)


@pytest.mark.parametrize("variant", ["tllib", "pactran"])
def test_hscore_wide_noise_features_warn_saturated(variant):
    # A few hundred samples of 1 280-d pure noise: exactly C - 1 = 9, as real
    # features would; the warning says so and points to the shrinkage H-score.
    rng = np.random.default_rng(0)
    F, y = rng.normal(size=(300, 1280)), np.arange(300) % 10
    with pytest.warns(SaturatedScoreWarning, match="regularized_hscore"):
        value = hscore(F, y, variant=variant)
    assert value == pytest.approx(9.0, rel=1e-6)


def test_saturation_not_warned_on_ordinary_data():
    rng = np.random.default_rng(0)
    y = np.arange(300) % 10
    F = rng.normal(size=(300, 32)) + y[:, None]
    for func in (gbc, hscore, nleep):
        _quiet(func, F, y)
    _quiet(nce, y % 4, y)


def test_hscore_scorer_warns_saturated():
    from skdisco.scorers import HScoreScorer

    with pytest.warns(SaturatedScoreWarning):
        HScoreScorer().fit(X8, Y8)


def test_saturated_score_warning_is_an_exported_user_warning():
    import skdisco.utils

    assert issubclass(SaturatedScoreWarning, UserWarning)
    assert "SaturatedScoreWarning" in skdisco.utils.__all__
