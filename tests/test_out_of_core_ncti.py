"""NCTI on out-of-core features equals NCTI on the same features in memory."""

from contextlib import nullcontext

import numpy as np
import pytest
from ooc_sources import KINDS, classification_data, generator_of, source_of

from skdisco.scorers import NCTIScorer
from skdisco.transferability import _ncti, ncti_components, ncti_lda_score
from skdisco.utils import as_feature_source

RTOL = 1e-9


@pytest.fixture(scope="module")
def data():
    return classification_data(n=600, d=24, n_classes=5, seed=5)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n_components", [8, 64])
def test_ncti_out_of_core_equals_in_memory(data, tmp_path, kind, n_components):
    # 64 > d: all 24 components (with a warning); the shrinkage sits at its
    # floor on these features (scikit-learn's svd solver) and not with 8.
    X, y = data
    with pytest.warns(UserWarning) if n_components > 24 else nullcontext():
        want = ncti_components(X, y, n_components=n_components)
    with pytest.warns(UserWarning) if n_components > 24 else nullcontext():
        got = ncti_components(
            source_of(kind, X, tmp_path), y, n_components=n_components
        )
    np.testing.assert_allclose(got, want, rtol=RTOL)
    lda = ncti_lda_score(source_of(kind, X, tmp_path), y, n_components=8)
    assert lda == pytest.approx(ncti_components(X, y, n_components=8)[1], rel=RTOL)


def test_ncti_both_lda_solvers_are_exercised(data, monkeypatch):
    # One setting per solver: a shrinkage at its floor (svd) and above (eigen).
    X, y = data
    calls = []
    real_svd = _ncti._svd_solver_lda
    monkeypatch.setattr(
        _ncti, "_svd_solver_lda", lambda *a, **k: calls.append(1) or real_svd(*a, **k)
    )
    used = []
    for scale in (1.0, 1e-3):
        calls.clear()
        want = ncti_components(X * scale, y, n_components=8)
        got = ncti_components(source_of("dask", X * scale, None), y, n_components=8)
        np.testing.assert_allclose(got, want, rtol=RTOL)
        used.append(len(calls))
    assert used == [2, 0]


def test_ncti_out_of_core_fewer_samples_than_features(tmp_path):
    X, y = classification_data(n=40, d=60, n_classes=3, seed=6)
    want = ncti_components(X, y, n_components=8)
    got = ncti_components(source_of("chunks", X, tmp_path), y, n_components=8)
    np.testing.assert_allclose(got, want, rtol=RTOL)


def test_ncti_out_of_core_extreme_magnitude(data):
    X, y = data
    big = X * 1e300
    want = ncti_components(big, y, n_components=8)
    got = ncti_components(source_of("chunks", big, None), y, n_components=8)
    np.testing.assert_allclose(got, want, rtol=RTOL)


def test_ncti_passes_and_generator_error(data):
    # Mean, scatter (PCA), class sums, within-class scatter, posteriors.
    X, y = data
    for fn in (ncti_components, ncti_lda_score):
        source = as_feature_source(source_of("chunks", X, None), n_samples=len(y))
        fn(source, y, n_components=8)
        assert source.passes == 5
    with pytest.raises(ValueError, match="generator, which can be read once"):
        ncti_lda_score(generator_of(X), y, n_components=8)


@pytest.mark.parametrize("kind", ["array", "memmap", "dask"])
@pytest.mark.parametrize("rows_per_read", [None, 7])
def test_ncti_class_nuclear_norms_class_by_class_beyond_the_bound(
    data, tmp_path, monkeypatch, kind, rows_per_read
):
    # Beyond the factor budget, features with random access are read once
    # more, class by class (in reads of 7 rows, merged by QR, or whole): the
    # same components as the factors kept in the streaming pass.
    X, y = data
    want = ncti_components(X, y, n_components=8)
    monkeypatch.setattr(_ncti, "_FACTOR_BYTES", 100)
    if rows_per_read is not None:
        monkeypatch.setattr(
            _ncti, "posterior_chunk_bytes", lambda d, k: 8 * d * rows_per_read
        )
    reads = []
    features = X if kind == "array" else source_of(kind, X, tmp_path)
    original = _ncti._class_nuclear_norms_by_class

    def spy(read_rows, *args):
        reads.append(1)
        return original(read_rows, *args)

    monkeypatch.setattr(_ncti, "_class_nuclear_norms_by_class", spy)
    got = ncti_components(features, y, n_components=8)
    assert reads == [1]
    np.testing.assert_allclose(got, want, rtol=RTOL)
    # Features of extreme magnitude: each class's rows are rescaled as read.
    huge = ncti_components(X * 2.0**600, y, n_components=8)
    np.testing.assert_allclose(huge[1:], want[1:], rtol=RTOL)


def test_ncti_class_factors_beyond_the_bound_are_refused(data, monkeypatch):
    X, y = data
    monkeypatch.setattr(_ncti, "_FACTOR_BYTES", 100)
    with pytest.raises(ValueError, match="Pass the features with random access"):
        ncti_components(source_of("chunks", X, None), y, n_components=8)
    # The LDA score does not keep them.
    assert ncti_lda_score(
        source_of("chunks", X, None), y, n_components=8
    ) == pytest.approx(ncti_lda_score(X, y, n_components=8), rel=RTOL)


@pytest.mark.parametrize("kind", ["dask", "callable"])
def test_ncti_scorer_out_of_core(data, tmp_path, kind):
    X, y = data
    want = NCTIScorer(n_components=8).fit(X, y)
    got = NCTIScorer(n_components=8).fit(source_of(kind, X, tmp_path), y)
    np.testing.assert_allclose(got.components_, want.components_, rtol=RTOL)
    assert got.score_ == pytest.approx(want.score_, rel=RTOL)
