"""The chunked float64 helpers shared by the scorers: exact, never a whole copy."""

import functools
import tracemalloc

import numpy as np
import pytest

from skdisco.transferability._linalg import (
    centered_gram,
    class_sums,
    class_variances,
    iter_centered_chunks,
    minmax_across_models,
    scatter_sum,
    sum_fourth_powers_of_norms,
)
from skdisco.utils._source import as_feature_source
from tests.ooc_sources import KINDS, source_of


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("centred", [True, False])
def test_centered_chunks_cover_every_row_once_and_equal_whole_centring(dtype, centred):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1000, 7)).astype(dtype)
    mean = X.mean(axis=0, dtype=np.float64) if centred else np.zeros(7)
    expected = X.astype(np.float64) - mean
    got = np.empty_like(expected)
    seen = np.zeros(1000, dtype=int)
    # 800 bytes per chunk: 14 rows of 7 float64 values, so many chunks.
    for start, stop, Z in iter_centered_chunks(X, mean, chunk_bytes=800):
        assert Z.dtype == np.float64 and Z.shape == (stop - start, 7)
        if centred or dtype == np.float32:  # a copy is made: bounded
            assert stop - start <= 14
        got[start:stop] = Z
        seen[start:stop] += 1
    assert (seen == 1).all()
    np.testing.assert_array_equal(got, expected)


def test_zero_mean_yields_a_float64_array_without_copying_it():
    X = np.random.default_rng(1).standard_normal((50, 4))
    ((start, stop, Z),) = list(iter_centered_chunks(X, np.zeros(4)))
    assert (start, stop) == (0, 50) and Z is X


def test_centered_gram_and_fourth_powers_match_the_dense_formulas():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((300, 6)) + 5.0
    mean = X.mean(axis=0)
    Z = X - mean
    np.testing.assert_allclose(centered_gram(X, mean), Z.T @ Z, rtol=1e-12)
    r2 = (Z**2).sum(axis=1)
    np.testing.assert_allclose(sum_fourth_powers_of_norms(X, mean), r2 @ r2, rtol=1e-12)
    y = np.arange(300) % 3
    means = np.stack([X[y == c].mean(axis=0) for c in range(3)])
    expected = np.stack([X[y == c].var(axis=0) for c in range(3)])
    np.testing.assert_allclose(class_variances(X, y, 3, means), expected, rtol=1e-12)


def test_centering_a_float64_matrix_never_copies_it_whole():
    X = np.random.default_rng(3).standard_normal((20_000, 768))  # 117 MiB
    y = np.arange(20_000) % 5
    mean = X.mean(axis=0)
    means = np.stack([X[y == c].mean(axis=0) for c in range(5)])
    tracemalloc.start()
    centered_gram(X, mean)
    sum_fourth_powers_of_norms(X, mean)
    class_variances(X, y, 5, means)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < X.nbytes / 2


def test_minmax_across_models_maps_onto_unit_interval():
    values = np.array([3.0, -1.0, 1.0])
    np.testing.assert_allclose(minmax_across_models(values, "x"), [1.0, 0.0, 0.5])


def test_minmax_across_models_constant_component_warns_and_is_zero():
    with pytest.warns(UserWarning, match="The energy is the same for every model"):
        out = minmax_across_models([2.0, 2.0, 2.0], "energy")
    np.testing.assert_array_equal(out, [0.0, 0.0, 0.0])


@pytest.mark.parametrize("chunked", [False, True])
def test_class_sums_with_more_labels_than_rows_per_chunk_are_exact(chunked):
    # DISCO's fold × class bins outnumber a chunk's rows: each chunk is summed
    # into the labels it holds (some labels have no rows at all).
    from skdisco.utils._source import as_feature_source

    rng = np.random.default_rng(4)
    X = rng.standard_normal((300, 6))
    y = rng.integers(0, 400, 300)
    y[y == 7] = 8  # label 7 has no rows
    dense = np.zeros((400, 6))
    np.add.at(dense, y, X)
    chunks = [X[a : a + 37] for a in range(0, 300, 37)]
    source = as_feature_source(chunks) if chunked else X
    counts, sums = class_sums(source, y, 400)
    np.testing.assert_allclose(sums, dense, rtol=1e-14, atol=1e-14)
    np.testing.assert_array_equal(counts, np.bincount(y, minlength=400))
    assert not sums[7].any()


def _layouts(M):
    yield M
    yield np.asfortranarray(M)


@pytest.mark.parametrize("shape", [(5, 7, 3), (1, 7, 3), (5, 1, 3), (5, 7, 1)])
def test_blas_matmul_equals_numpy_in_every_layout(shape):
    from skdisco.transferability._linalg import blas_matmul

    m, k, n = shape
    rng = np.random.default_rng(m * 100 + k * 10 + n)
    A, B = rng.standard_normal((m, k)), rng.standard_normal((k, n))
    for a in _layouts(A):
        for b in _layouts(B):
            got = blas_matmul(a, b)
            assert got.flags.c_contiguous and got.shape == (m, n)
            np.testing.assert_allclose(got, A @ B, rtol=1e-14, atol=1e-14)
            out = np.full((m, n), np.nan, order="F")
            assert blas_matmul(a, b, out=out) is out
            np.testing.assert_allclose(out, A @ B, rtol=1e-14, atol=1e-14)


def test_blas_matmul_passes_strided_empty_and_float32_operands_to_numpy():
    from skdisco.transferability._linalg import blas_matmul

    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((8, 9)), rng.standard_normal((9, 6))
    np.testing.assert_array_equal(blas_matmul(A[::2], B[:, 1:4]), A[::2] @ B[:, 1:4])
    assert blas_matmul(np.zeros((0, 3)), np.ones((3, 2))).shape == (0, 2)
    A32 = A.astype(np.float32)
    assert blas_matmul(A32, A32.T).dtype == np.float32
    out = np.empty((4, 3), order="F")
    blas_matmul(A[::2], B[:, 1:4], out=out)
    np.testing.assert_allclose(out, A[::2] @ B[:, 1:4], rtol=1e-14)
    with pytest.raises(ValueError, match="Fortran-ordered"):
        blas_matmul(A, B, out=np.empty((8, 6)))
    with pytest.raises(ValueError, match="Fortran-ordered"):
        blas_matmul(A[::2], B[:, 1:4], out=np.empty((4, 3)))


def _rows_about_class_means(block, y_block, *, means):
    return block - means[y_block], int(y_block.size)


@pytest.mark.parametrize("kind", ("array",) + KINDS)
def test_scatter_sum_accumulates_every_block_in_place_and_sums_the_extras(
    kind, tmp_path
):
    # 5 rows per block of 9 features: 60 blocks accumulate into one D x D
    # matrix (a Dask source sums one product per stored chunk instead).
    rng = np.random.default_rng(3)
    X = rng.standard_normal((300, 9))
    y = rng.integers(0, 4, 300)
    means = np.stack([X[y == c].mean(axis=0) for c in range(4)])
    R = X - means[y]
    F = X if kind == "array" else source_of(kind, X, tmp_path)
    if kind not in ("array", "memmap"):  # a memmap is read as an array
        F = as_feature_source(F)
    fn = functools.partial(_rows_about_class_means, means=means)
    W, n_rows = scatter_sum(F, fn, y, chunk_bytes=5 * 9 * 8)
    assert n_rows == 300
    assert W.flags.f_contiguous
    upper = np.triu_indices(9)
    np.testing.assert_allclose(W[upper], (R.T @ R)[upper], rtol=1e-13)
    # Without extras the function returns the matrix alone.
    W_only = scatter_sum(F, lambda b, yb: fn(b, yb)[0], y, chunk_bytes=5 * 9 * 8)
    np.testing.assert_allclose(W_only[upper], W[upper], rtol=1e-15)
