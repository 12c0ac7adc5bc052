"""The factored symmetric eigendecomposition: A = Q T Qᵀ, T = W Λ Wᵀ."""

import numpy as np
import pytest

from skdisco.transferability._linalg import (
    CenteredSpectrum,
    ClassMeanSpectrum,
    Tridiagonalization,
    TridiagonalSystem,
    centered_gram,
    reverse_columns,
)


def _psd(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((3 * n, n)) * rng.uniform(0.1, 3.0, n)
    return centered_gram(X, np.zeros(n))


@pytest.mark.parametrize("n", [1, 2, 7, 40])
def test_tridiagonalization_eigh_reconstructs_and_matches_numpy(n):
    A = _psd(n, seed=n)
    tri = Tridiagonalization(A)
    w, W = tri.eigh()
    np.testing.assert_allclose(w, np.linalg.eigvalsh(A), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(tri.eigenvalues(), w, rtol=1e-10, atol=1e-10)
    V = tri.apply_q(W)
    np.testing.assert_allclose(V.T @ V, np.eye(n), atol=1e-12)
    np.testing.assert_allclose((V * w) @ V.T, A, atol=1e-10 * np.abs(A).max())
    assert W.flags.f_contiguous


def test_tridiagonalization_q_is_orthogonal_and_reads_lower_triangle_only():
    A = _psd(25, seed=3)
    garbage = np.tril(A).copy(order="F")
    garbage[np.triu_indices(25, 1)] = np.nan  # the upper triangle is never read
    tri = Tridiagonalization(garbage, overwrite_a=True)
    R = np.random.default_rng(1).standard_normal((25, 6))
    np.testing.assert_allclose(tri.apply_q(tri.apply_qt(R)), R, atol=1e-13)
    np.testing.assert_allclose(
        np.linalg.norm(tri.apply_qt(R), axis=0), np.linalg.norm(R, axis=0)
    )
    np.testing.assert_allclose(
        tri.eigenvalues(), np.linalg.eigvalsh(A), rtol=1e-10, atol=1e-10
    )


def test_tridiagonal_system_uses_the_same_reduction():
    A = _psd(12, seed=5)
    R = np.random.default_rng(2).standard_normal((12, 3))
    system = TridiagonalSystem(A, R)
    np.testing.assert_allclose(system.apply_q(system.C), R, atol=1e-12)
    np.testing.assert_allclose(
        system.eigenvalues, np.linalg.eigvalsh(A)[::-1], rtol=1e-10, atol=1e-10
    )


@pytest.mark.parametrize("n", [1, 2, 5, 6, 13])
@pytest.mark.parametrize("block", [1, 3, 64])
def test_reverse_columns_in_place(n, block):
    W = np.asfortranarray(np.random.default_rng(n).standard_normal((4, n)))
    expected = W[:, ::-1].copy()
    out = reverse_columns(W, block=block)
    assert out is W and W.flags.f_contiguous
    np.testing.assert_array_equal(W, expected)


def test_tridiagonalization_falls_back_to_mrrr(monkeypatch):
    from scipy.linalg import lapack

    import skdisco.transferability._linalg as linalg

    A = _psd(30, seed=4)
    tri = Tridiagonalization(A)
    w_dc, W_dc = tri.eigh()
    calls = []
    real_stevd, real_stemr = lapack.dstevd, lapack.dstemr

    def failing_stevd(d, e, *args, **kwargs):
        w, W, info = real_stevd(d, e, *args, **kwargs)
        return w, W, 7  # as if divide and conquer had failed

    def counted_stemr(*args, **kwargs):
        calls.append("stemr")
        return real_stemr(*args, **kwargs)

    monkeypatch.setattr(linalg.lapack, "dstevd", failing_stevd)
    monkeypatch.setattr(linalg.lapack, "dstemr", counted_stemr)
    w, W = tri.eigh()
    assert calls == ["stemr"]
    np.testing.assert_allclose(w, w_dc, rtol=1e-12, atol=1e-10)
    # Same eigenvectors up to sign (distinct eigenvalues).
    np.testing.assert_allclose(np.abs(W.T @ W_dc), np.eye(30), atol=1e-8)
    assert W.flags.f_contiguous


def test_tridiagonalization_eigenvectors_are_orthogonal_to_rounding():
    """Divide and conquer: orthogonal to ~10 ulps on a Gram matrix with a
    decaying spectrum, where MRRR's eigenvectors of the same tridiagonal are
    to ~500 (and ~1e-12 at n = 2048)."""
    rng = np.random.default_rng(0)
    n = 300
    X = rng.standard_normal((2 * n, n)) / np.sqrt(np.arange(1, n + 1))
    w, W = Tridiagonalization(centered_gram(X, np.zeros(n))).eigh()
    assert np.abs(W.T @ W - np.eye(n)).max() < 100 * np.finfo(float).eps


@pytest.mark.parametrize("n, d", [(300, 40), (40, 300), (60, 60)])
def test_class_mean_spectrum_equals_centered_spectrum(n, d):
    # Same eigenvalues and class-mean coordinates (up to the sign of each
    # eigenvector) as the eigendecomposition with eigenvectors, primal and dual.
    rng = np.random.default_rng(n + d)
    y = np.arange(n) % 5
    X = rng.standard_normal((n, d)) * np.linspace(3.0, 0.1, d) + y[:, None]
    fast = ClassMeanSpectrum(X, y, 5)
    full = CenteredSpectrum(X)
    lam = full.eigenvalues
    np.testing.assert_allclose(fast.eigenvalues, lam, rtol=1e-12, atol=1e-12 * lam[0])
    keep = lam > 1e-9 * lam[0]
    np.testing.assert_allclose(
        np.abs(fast.coords[:, keep]),
        np.abs(full.class_mean_coordinates(y, 5)[:, keep]),
        rtol=1e-9,
        atol=1e-12,
    )
    np.testing.assert_array_equal(fast.counts, np.bincount(y))


@pytest.mark.parametrize("n", [1, 2, 9, 40])
def test_solve_shifted_equals_one_solve_per_column_bit_for_bit(n):
    A = _psd(n, seed=n + 10)
    rng = np.random.default_rng(n)
    system = TridiagonalSystem(A, rng.standard_normal((n, 6)))
    shifts = np.exp(rng.uniform(-4.0, 6.0, 6))
    X = system.solve_shifted(shifts, system.C)
    for j, t in enumerate(shifts):
        np.testing.assert_array_equal(
            X[:, j], system.solve_columns(t, system.C[:, j : j + 1])[:, 0]
        )
        expected = np.linalg.solve(
            np.diag(system.diag) + np.diag(system.offdiag, 1)
            + np.diag(system.offdiag, -1) + t * np.eye(n),
            system.C[:, j],
        )
        np.testing.assert_allclose(X[:, j], expected, rtol=1e-9, atol=1e-12)
    assert system.solve_shifted(shifts[:0], system.C[:, :0]).shape == (n, 0)


def test_solve_shifted_solves_each_column_alone_when_a_block_is_indefinite():
    # A negative shift below -λ_min makes that block indefinite: LDLᵀ without
    # pivoting fails for the stack, and every column is solved on its own.
    A = _psd(20, seed=1)
    system = TridiagonalSystem(A, np.random.default_rng(0).standard_normal((20, 3)))
    lam = system.eigenvalues
    shifts = np.array([1.0, -0.5 * (lam[0] + lam[1]), 3.0])
    X = system.solve_shifted(shifts, system.C)
    T = np.diag(system.diag) + np.diag(system.offdiag, 1) + np.diag(system.offdiag, -1)
    for j, t in enumerate(shifts):
        np.testing.assert_allclose(
            (T + t * np.eye(20)) @ X[:, j], system.C[:, j], atol=1e-8
        )


@pytest.mark.parametrize("m", [3, 25, 26, 61])
def test_q_products_in_pieces_and_in_place_equal_the_dense_q(m):
    # More columns than n are applied n at a time; out= (R itself included)
    # receives the same product.
    n = 25
    A = _psd(n, seed=5)
    tri = Tridiagonalization(A)
    w, W = tri.eigh()
    Q = tri.apply_q(np.eye(n))
    R = np.asfortranarray(np.random.default_rng(2).standard_normal((n, m)))
    np.testing.assert_allclose(tri.apply_q(R), Q @ R, atol=1e-12)
    np.testing.assert_allclose(tri.apply_qt(R), Q.T @ R, atol=1e-12)
    out = np.zeros((n, m), order="F")
    assert tri.apply_q(R, out=out) is out
    np.testing.assert_allclose(out, Q @ R, atol=1e-12)
    inplace = R.copy(order="F")
    tri.apply_qt(inplace, out=inplace)
    np.testing.assert_allclose(inplace, Q.T @ R, atol=1e-12)
    with pytest.raises(ValueError, match="Fortran-ordered float64"):
        tri.apply_q(R, out=np.zeros((n, m)))  # C-ordered


@pytest.mark.parametrize("n", [1, 2, 9])
@pytest.mark.parametrize("trans", ["N", "T"])
def test_apply_reflectors_is_q_below_the_first_row_in_place(n, trans):
    # Q = diag(1, Q'): Q' applied in place to the rows below the first.
    tri = Tridiagonalization(_psd(n, seed=n))
    R = np.random.default_rng(n).standard_normal((n, 4))
    expected = tri.apply_q(R) if trans == "N" else tri.apply_qt(R)
    np.testing.assert_array_equal(expected[0], R[0])
    sub = np.asfortranarray(R[1:])
    out = tri.apply_reflectors(sub, trans)
    np.testing.assert_allclose(out, expected[1:], atol=1e-13)
    if n > 1:
        assert np.shares_memory(out, sub)  # overwritten, not copied


def test_apply_reflectors_rejects_c_ordered_input():
    tri = Tridiagonalization(_psd(6))
    with pytest.raises(ValueError, match="Fortran-ordered"):
        tri.apply_reflectors(np.zeros((5, 3)))


@pytest.mark.parametrize("n, d", [(300, 40), (40, 300), (60, 60)])
@pytest.mark.parametrize("k", [1, 7, 1000])
def test_centered_spectrum_n_vectors_is_the_leading_part_of_the_full_one(n, d, k):
    # The leading k eigenpairs (MRRR on a subset) are the full decomposition's
    # first k, up to each vector's sign; their scores and class-mean
    # coordinates too. k above min(n, d) keeps them all.
    rng = np.random.default_rng(n * d + k)
    y = np.arange(n) % 4
    X = rng.standard_normal((n, d)) * np.linspace(3.0, 0.1, d) + y[:, None]
    full = CenteredSpectrum(X)
    top = CenteredSpectrum(X, labels=(y, 4), n_vectors=k)
    r = min(k, n, d)
    assert top.eigenvalues.shape == (r,) and top.vectors.shape[1] == r
    lam = full.eigenvalues
    np.testing.assert_allclose(
        top.eigenvalues, lam[:r], rtol=1e-11, atol=1e-12 * lam[0]
    )
    # Eigenvalues are distinct here (a decaying spectrum): vectors are unique
    # up to sign.
    signs = np.sign(np.sum(top.vectors * full.vectors[:, :r], axis=0))
    assert np.all(signs != 0)
    np.testing.assert_allclose(top.vectors * signs, full.vectors[:, :r], atol=1e-9)
    # Scores on the (centred data's) null direction are round-off of ~√ε.
    keep = lam[:r] > 1e-9 * lam[0]
    np.testing.assert_allclose(
        (top.scores(r) * signs)[:, keep], full.scores(r)[:, keep], atol=1e-9
    )
    np.testing.assert_allclose(
        (top.class_mean_coordinates(y, 4) * signs)[:, keep],
        full.class_mean_coordinates(y, 4)[:, :r][:, keep],
        atol=1e-9,
    )
    # The full spectrum is descending, PSD, and reconstructs the scatter.
    assert np.all(np.diff(lam) <= 0) and lam[-1] >= 0
    if n > d:
        Xc = X - X.mean(axis=0)
        V = full.vectors
        np.testing.assert_allclose((V * lam) @ V.T, Xc.T @ Xc, atol=1e-9 * lam[0])
