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


# --------------------------------------------------------------------------- #
# component_transferability
# --------------------------------------------------------------------------- #
from skdisco.analysis import (  # noqa: E402
    component_transferability,
    plot_component_transferability,
    plot_spectral_profile,
    plot_spectral_shift,
    spectral_shift,
)
from skdisco.transferability import disco_components  # noqa: E402


def signal_in_band(band, n=240, seed=0):
    """8 directions, σ well separated by band (4 bands of 2); the class signal
    only in one direction of band ``band``, at that direction's own scale."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n // 3)
    scales = np.array([100.0, 90.0, 30.0, 27.0, 10.0, 9.0, 3.0, 2.7])
    X = rng.normal(size=(n, 8))
    signal = (y - 1) / np.sqrt(2.0 / 3.0)  # unit variance
    X[:, 2 * band] = 0.95 * signal + np.sqrt(1 - 0.95**2) * X[:, 2 * band]
    return X * scales, y


@pytest.mark.parametrize("band", [0, 1, 2, 3])
def test_planted_band_gets_top_score(band):
    X, y = signal_in_band(band)
    frame = component_transferability(X, y, n_groups=4, centering=True)
    assert frame["n_components"].tolist() == [2, 2, 2, 2]
    assert int(frame["score"].idxmax()) == band
    others = frame["score"].drop(band)
    assert (others < 0.4).all() and frame["score"][band] > 0.6  # chance: 1/3


def test_matches_disco_breakdown():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    for kw in [dict(n_groups=4), dict(group_size=10), dict(n_groups=2,
               covariance="shared", centering=True)]:
        frame = component_transferability(X, y, **kw)
        ref = disco_components(X, y, **kw)
        np.testing.assert_array_equal(frame["score"], ref.group_scores)
        np.testing.assert_array_equal(frame["sigma_mass"], ref.ratios)
        assert frame["contribution"].sum() == pytest.approx(ref.score, abs=1e-12)
        assert frame["n_components"].sum() == ref.singular_values.size
    assert frame["measure"].unique().tolist() == ["ncc"]


def test_principal_column_and_bands():
    sigma = [6.0, 2.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.25]
    X = planted(sigma)
    y = np.arange(X.shape[0]) % 3
    frame = component_transferability(X, y, group_size=2, centering=True)
    k = spectral_profile(X).n_principal
    assert frame["principal"].tolist() == [
        last < k for last in frame["last_component"]]
    split = component_transferability(X, y, bands="principal", centering=True)
    assert split["n_components"].tolist() == [k, len(sigma) - k]
    assert split["principal"].tolist() == [True, False]
    one = component_transferability(X, y, bands="principal", threshold=1.0,
                                    centering=True)
    assert len(one) == 1 and one["principal"].all()


def test_regression_and_lr_measure():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6)) * [5, 4, 3, 2, 1, 0.5]
    t = X[:, 5] + 0.01 * rng.normal(size=200)
    frame = component_transferability(X, t, n_groups=3, centering=True)
    assert frame["measure"].unique().tolist() == ["lr"]
    assert int(frame["score"].idxmax()) == 2 and frame["score"].max() > -0.05
    labels = np.where(X[:, 0] > 0, "a", "b")  # string labels
    lr = component_transferability(X, labels, n_groups=3, measure="lr",
                                   centering=True)
    assert lr["measure"].unique().tolist() == ["lr"] and lr["score"].idxmax() == 0
    with pytest.raises(ValueError, match="ncc"):
        component_transferability(X, t, measure="ncc")


def test_component_transferability_invariances():
    X, y = signal_in_band(1)
    ref = component_transferability(X, y, centering=True)
    perm = np.random.default_rng(1).permutation(X.shape[0])
    for Xt, yt in [(X[perm], y[perm]), (X * 1e4, y), (X * 1e-5, y)]:
        got = component_transferability(Xt, yt, centering=True)
        np.testing.assert_allclose(got["score"], ref["score"], rtol=1e-9)
        np.testing.assert_allclose(got["sigma_mass"], ref["sigma_mass"], rtol=1e-9)
    relabelled = component_transferability(X, np.array(list("xyz"))[y],
                                           centering=True)
    np.testing.assert_allclose(relabelled["score"], ref["score"], rtol=1e-12)


def test_component_transferability_bad_input():
    X, y = signal_in_band(0)
    with pytest.raises(ValueError, match="rows|samples|inconsistent"):
        component_transferability(X[:-5], y)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN|nan|infinity"):
        component_transferability(Xn, y)
    with pytest.raises(ValueError, match="constant"):
        component_transferability(np.ones_like(X), y)
    with pytest.raises(ValueError, match="class"):
        component_transferability(X, np.zeros(X.shape[0], dtype=int),
                                  task="classification")


# --------------------------------------------------------------------------- #
# spectral_shift
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("n", [300, 6])  # primal and dual (N <= d)
def test_shift_identical_is_zero(n):
    X = np.random.default_rng(0).normal(size=(n, 8)) * np.arange(8, 0, -1)
    shift = spectral_shift(X, X.copy(), n_groups=2)
    assert (shift.groups["relative_change"] == 0).all()
    assert (shift.groups["sigma_mass_change"] == 0).all()
    assert (shift.principal_angles == 0).all() and shift.max_angle == 0
    assert shift.principal_change == 0
    assert shift.principal_mass_before == shift.principal_mass_after


def test_shift_scaling_and_offset_known():
    X = np.random.default_rng(1).normal(size=(200, 6)) * [6, 5, 4, 3, 2, 1]
    shift = spectral_shift(X, 3.0 * X + 7.0, n_groups=3)
    np.testing.assert_allclose(shift.groups["relative_change"], 2.0, rtol=1e-10)
    np.testing.assert_allclose(shift.groups["sigma_mass_change"], 0, atol=1e-12)
    np.testing.assert_allclose(shift.principal_angles, 0, atol=1e-6)


def test_shift_rotation_inside_group():
    """Rotating the features inside group 0's subspace moves only group 0, and
    leaves the principal subspace (group 0 is principal) where it was."""
    X = planted([10.0, 9.0, 1.0, 0.9, 0.5, 0.4], seed=3)
    Z = X - X.mean(axis=0)
    V = np.linalg.svd(Z, full_matrices=False)[2].T
    c, s = np.cos(0.3), np.sin(0.3)
    Q = np.array([[c, -s], [s, c]])
    R = np.eye(6) + V[:, :2] @ (Q - np.eye(2)) @ V[:, :2].T
    shift = spectral_shift(X, X @ R, group_size=2, threshold=0.6)
    d = shift.groups["relative_change"].to_numpy()
    P = Z @ V[:, :2]
    expected = np.linalg.norm(P - P @ Q) / np.linalg.norm(P)
    assert d[0] == pytest.approx(expected, rel=1e-9) and expected > 0.1
    np.testing.assert_allclose(d[1:], 0, atol=1e-9)
    assert shift.n_components == 2
    np.testing.assert_allclose(shift.principal_angles, 0, atol=1e-7)


def test_shift_invariances_and_angles():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(150, 5)) * [5, 4, 3, 2, 1]
    Y = X + rng.normal(size=X.shape) * [0.1, 0.2, 0.5, 1, 2]
    ref = spectral_shift(X, Y, n_groups=5)
    perm = rng.permutation(150)
    Q = ortho_group.rvs(5, random_state=4)
    for A, B in [(X[perm], Y[perm]), (X @ Q, Y @ Q), (X * 1e5, Y * 1e5)]:
        got = spectral_shift(A, B, n_groups=5)
        np.testing.assert_allclose(got.groups["relative_change"],
                                   ref.groups["relative_change"], rtol=1e-7)
        np.testing.assert_allclose(got.principal_angles, ref.principal_angles,
                                   atol=1e-7)
    # the angles are scipy's between the top-k right singular vectors
    from scipy.linalg import subspace_angles

    k = ref.n_components
    Vx = np.linalg.svd(X - X.mean(0))[2][:k].T
    Vy = np.linalg.svd(Y - Y.mean(0))[2][:k].T
    np.testing.assert_allclose(ref.principal_angles, subspace_angles(Vx, Vy),
                               atol=1e-8)
    assert spectral_shift(X, Y, n_components=3).principal_angles.shape == (3,)


def test_shift_bad_input():
    X = np.random.default_rng(0).normal(size=(50, 4))
    with pytest.raises(ValueError, match="50 rows.*49"):
        spectral_shift(X, X[:-1])
    with pytest.raises(ValueError, match="4 columns.*3"):
        spectral_shift(X, X[:, :3])
    with pytest.raises(ValueError, match="features_after.*constant"):
        spectral_shift(X, np.ones_like(X))
    with pytest.raises(ValueError, match="features_before.*constant"):
        spectral_shift(np.ones_like(X), X)
    with pytest.raises(ValueError, match="n_components"):
        spectral_shift(X, X, n_components=9)
    Xn = X.copy()
    Xn[3, 1] = np.inf
    with pytest.raises(ValueError, match="NaN|nan|infinity"):
        spectral_shift(X, Xn)


# --------------------------------------------------------------------------- #
# plots and the command line
# --------------------------------------------------------------------------- #
def test_plots():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    X, y = signal_in_band(2)
    profile = spectral_profile(X)
    ax = plot_spectral_profile(profile)
    assert ax.get_yscale() == "log"
    np.testing.assert_allclose(ax.lines[0].get_ydata(), profile.singular_values)
    frame = component_transferability(X, y)
    ax = plot_component_transferability(frame)
    np.testing.assert_allclose([p.get_height() for p in ax.patches], frame["score"])
    ax = plot_spectral_shift(spectral_shift(X, X + 1e-3))
    assert len(ax.patches) == 4
    with pytest.raises(ValueError, match="SpectralProfile"):
        plot_spectral_profile(frame)
    with pytest.raises(ValueError, match="lacks"):
        plot_component_transferability(profile.to_frame())


def test_cli_spectrum_model_on_digits(tmp_path, capsys):
    from skdisco.cli import main

    out, png = tmp_path / "s.csv", tmp_path / "s.png"
    status = main(["analyze", "spectrum", "test_convnext=random", "--data",
                   "digits", "--max-samples", "60", "--image-size", "32",
                   "--output", str(out), "--plot", str(png), "--quiet"])
    assert status == 0
    import pandas as pd

    table = pd.read_csv(out)
    assert {"singular_value", "cumulative_mass", "split", "band", "band_score",
            "measure"} <= set(table.columns)
    assert table["cumulative_mass"].iloc[-1] == pytest.approx(1.0)
    assert png.stat().st_size > 0
    assert "principal components" in capsys.readouterr().out


def test_cli_spectrum_feature_files(tmp_path, capsys):
    from sklearn.datasets import load_digits

    from skdisco.cli import main

    X, y = load_digits(return_X_y=True)
    np.save(tmp_path / "F.npy", X)
    np.save(tmp_path / "y.npy", y)
    out = tmp_path / "s.csv"
    assert main(["analyze", "spectrum", "--features", str(tmp_path / "F.npy"),
                 "--labels", str(tmp_path / "y.npy"), "--n-groups", "3",
                 "--output", str(out)]) == 0
    import pandas as pd

    table = pd.read_csv(out)
    ref = component_transferability(X, y, n_groups=3)
    np.testing.assert_allclose(table.groupby("band")["band_score"].first(),
                               ref["score"])
    # no labels: the profile only
    assert main(["analyze", "spectrum", "--features", str(tmp_path / "F.npy"),
                 "--output", str(out)]) == 0
    assert "band_score" not in pd.read_csv(out).columns
    # bad input: exit status 2 with a message
    assert main(["analyze", "spectrum", "--features", str(tmp_path / "F.npy"),
                 "--labels", str(tmp_path / "y.npy"), "--threshold", "0"]) == 2
    assert main(["analyze", "spectrum", "test_convnext=random"]) == 2
    np.save(tmp_path / "c.npy", np.ones((20, 3)))
    assert main(["analyze", "spectrum", "--features", str(tmp_path / "c.npy"),
                 "--labels", str(tmp_path / "y.npy")]) == 2
    assert "error" in capsys.readouterr().err


def test_every_instrument_is_a_subcommand():
    import argparse

    from skdisco.analysis._cli import INSTRUMENTS
    from skdisco.cli import build_parser

    def choices(parser):
        action = next(a for a in parser._actions
                      if isinstance(a, argparse._SubParsersAction))
        return action.choices

    analyze = choices(build_parser())["analyze"]
    assert sorted(choices(analyze)) == sorted(INSTRUMENTS)
    assert len(INSTRUMENTS) == 5
