"""SFDA and ETran on out-of-core features equal them on the same features in memory."""

import numpy as np
import pytest
from ooc_sources import KINDS, classification_data, generator_of, source_of

from skdisco.scorers import ETranScorer, SFDAScorer
from skdisco.transferability import (
    etran_components,
    etran_energy,
    etran_lda,
    sfda,
)
from skdisco.transferability._sfda import sfda_result
from skdisco.utils import as_feature_source

RTOL = 1e-9


@pytest.fixture(scope="module")
def data():
    return classification_data(n=600, d=12, n_classes=5, seed=4)


@pytest.mark.parametrize("kind", KINDS)
def test_sfda_out_of_core_equals_in_memory(data, tmp_path, kind):
    X, y = data
    want = sfda_result(X, y, 5)
    source = source_of(kind, X, tmp_path)
    if kind != "memmap":  # a memmap is an ndarray, read in place
        source = as_feature_source(source, n_samples=len(y))
    got = sfda_result(source, y, 5)
    assert got.score == pytest.approx(want.score, rel=RTOL)
    assert got.first_stage_score == pytest.approx(want.first_stage_score, rel=RTOL)
    assert got.shrinkage == pytest.approx(want.shrinkage, rel=RTOL)
    np.testing.assert_allclose(got.confidence, want.confidence, rtol=RTOL)
    assert sfda(source_of(kind, X, tmp_path), y) == pytest.approx(want.score, rel=RTOL)


def test_sfda_float32_and_extreme_magnitude_out_of_core(data, tmp_path):
    X, y = data
    X32 = X.astype(np.float32)
    assert sfda(source_of("dask", X32, tmp_path), y) == pytest.approx(
        sfda(X32, y), rel=RTOL
    )
    big = X * 1e300  # divided by a power of two block by block
    assert sfda(source_of("chunks", big, tmp_path), y) == pytest.approx(
        sfda(big, y), rel=RTOL
    )


def test_sfda_counts_six_passes_and_refuses_a_generator(data):
    X, y = data
    source = as_feature_source(source_of("chunks", X, None), n_samples=len(y))
    sfda(source, y)
    assert source.passes == 6
    with pytest.raises(ValueError, match="generator, which can be read once"):
        sfda(generator_of(X), y)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("covariance", ["identity", "shrunk"])
def test_etran_out_of_core_equals_in_memory(data, tmp_path, kind, covariance):
    X, y = data
    want = etran_components(X, y, covariance=covariance)
    got = etran_components(source_of(kind, X, tmp_path), y, covariance=covariance)
    np.testing.assert_allclose(got, want, rtol=RTOL)
    assert etran_lda(
        source_of(kind, X, tmp_path), y, covariance=covariance
    ) == pytest.approx(want[1], rel=RTOL)


def test_etran_energy_reads_a_generator_in_one_pass(data):
    # The energy score is one pass: a one-shot generator (rows not counted
    # up front) is enough.
    X, _ = data
    for tail in ("bottom", "top"):
        want = etran_energy(X, percent=2.0, tail=tail)
        got = etran_energy(generator_of(X), percent=2.0, tail=tail)
        assert got == pytest.approx(want, rel=RTOL)


def test_etran_passes_and_generator_error(data):
    X, y = data
    for covariance, passes in (("identity", 2), ("shrunk", 3)):
        source = as_feature_source(source_of("chunks", X, None), n_samples=len(y))
        etran_lda(source, y, covariance=covariance)
        assert source.passes == passes
    with pytest.raises(ValueError, match="generator, which can be read once"):
        etran_lda(generator_of(X), y)


def test_etran_extreme_magnitude_identity_out_of_core(data):
    X, y = data
    big = X * 1e300
    assert etran_lda(source_of("dask", big, None), y) == pytest.approx(
        etran_lda(big, y), rel=RTOL
    )


@pytest.mark.parametrize("kind", ["dask", "chunks"])
def test_sfda_and_etran_scorers_out_of_core(data, tmp_path, kind):
    X, y = data
    for Scorer in (SFDAScorer, ETranScorer):
        want = Scorer().fit(X, y)
        got = Scorer().fit(source_of(kind, X, tmp_path), y)
        assert got.score_ == pytest.approx(want.score_, rel=RTOL)
        assert got.score(source_of(kind, X, tmp_path), y) == pytest.approx(
            want.score_, rel=RTOL
        )
