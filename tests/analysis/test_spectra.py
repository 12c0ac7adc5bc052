"""Tests of skdisco.analysis spectra on constructed cases whose answer is known."""

import numpy as np
import pytest
from scipy.stats import ortho_group

from skdisco.analysis import spectral_profile


def planted(sigma, n=300, seed=0):
    """Centred features whose singular values are exactly ``sigma``."""
    rng = np.random.default_rng(seed)
    d = len(sigma)
    U = np.linalg.qr(rng.normal(size=(n, d + 1)))[0]
    U = U - U.mean(axis=0)  # the centred columns stay orthogonal to 1 only...
    U = np.linalg.qr(U)[0][:, :d]  # ...after re-orthonormalising
    V = ortho_group.rvs(d, random_state=seed)
    return (U * np.asarray(sigma, dtype=float)) @ V.T + rng.normal(size=d)


def test_planted_spectrum_and_split():
    sigma = [6.0, 2.0, 1.0, 0.5, 0.5]  # cumulative mass .6, .8, .9, .95, 1
    profile = spectral_profile(planted(sigma))
    np.testing.assert_allclose(profile.singular_values, sigma, rtol=1e-10)
    np.testing.assert_allclose(profile.cumulative_mass, [0.6, 0.8, 0.9, 0.95, 1.0])
    assert profile.n_principal == 2  # exactly at the threshold: k = 2
    assert spectral_profile(planted(sigma), threshold=0.81).n_principal == 3
    assert spectral_profile(planted(sigma), threshold=0.6).n_principal == 1
    assert spectral_profile(planted(sigma), threshold=1.0).n_principal == 5
    np.testing.assert_array_equal(profile.residual, [2, 3, 4])
    assert profile.principal_ratio == pytest.approx(8.0 / 2.0)


def test_effective_rank_extremes():
    flat = spectral_profile(planted([1.0] * 6))
    assert flat.effective_rank == pytest.approx(6.0)
    one = spectral_profile(np.outer(np.arange(20.0), [1.0, 2.0, -1.0]))
    assert one.rank == 1 and one.effective_rank == pytest.approx(1.0)


@pytest.mark.parametrize("n", [4, 300])  # dual (N <= d) and primal forms
def test_invariances(n):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n, 5)) * [5.0, 3.0, 2.0, 1.0, 0.1]
    ref = spectral_profile(X)
    Q = ortho_group.rvs(5, random_state=2)
    perm = rng.permutation(n)
    for Xt, factor in [(X[perm], 1.0), (X @ Q, 1.0), (X * 1e3, 1e3),
                       (X * 2.0**300, 2.0**300)]:
        p = spectral_profile(Xt)
        np.testing.assert_allclose(p.singular_values, ref.singular_values * factor,
                                   rtol=1e-9)
        np.testing.assert_allclose(p.cumulative_mass, ref.cumulative_mass, rtol=1e-9)
        assert p.n_principal == ref.n_principal
        assert p.effective_rank == pytest.approx(ref.effective_rank, rel=1e-9)


def test_matches_svd_and_frame():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 7)).astype(np.float32)
    p = spectral_profile(X)
    ref = np.linalg.svd(X.astype(np.float64) - X.astype(np.float64).mean(0),
                        compute_uv=False)
    np.testing.assert_allclose(p.singular_values, ref, rtol=1e-8)
    raw = spectral_profile(X, centering=False)
    np.testing.assert_allclose(raw.singular_values,
                               np.linalg.svd(X.astype(np.float64), compute_uv=False),
                               rtol=1e-8)
    frame = p.to_frame()
    assert list(frame.columns) == ["component", "singular_value", "mass",
                                   "cumulative_mass", "band"]
    assert (frame["band"] == "principal").sum() == p.n_principal


def test_bad_input():
    with pytest.raises(ValueError, match="constant"):
        spectral_profile(np.ones((10, 3)))
    with pytest.raises(ValueError, match="NaN|nan|infinity"):
        spectral_profile(np.array([[1.0, np.nan], [2.0, 3.0]]))
    with pytest.raises(ValueError, match="threshold"):
        spectral_profile(np.eye(3), threshold=0.0)
