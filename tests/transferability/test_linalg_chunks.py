"""The chunked float64 helpers shared by the scorers: exact, never a whole copy."""

import tracemalloc

import numpy as np
import pytest

from skdisco.transferability._linalg import (
    centered_gram,
    class_sums,
    class_variances,
    iter_centered_chunks,
    minmax_across_models,
    sum_fourth_powers_of_norms,
)


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
