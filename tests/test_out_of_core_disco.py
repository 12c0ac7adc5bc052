"""DISCO on out-of-core features equals DISCO on the same features in memory."""

import numpy as np
import pytest
from ooc_sources import KINDS, classification_data, generator_of, source_of

from skdisco.scorers import DiscoDetectionScorer, DiscoScorer
from skdisco.transferability import disco, disco_components, disco_detection_components
from skdisco.utils import as_feature_source

RTOL = 1e-9


@pytest.fixture(scope="module")
def data():
    return classification_data()


def _assert_same_result(got, want):
    assert got.score == pytest.approx(want.score, rel=RTOL)
    np.testing.assert_allclose(got.group_scores, want.group_scores, rtol=RTOL)
    np.testing.assert_allclose(got.singular_values, want.singular_values, rtol=RTOL)
    np.testing.assert_allclose(got.shrinkage, want.shrinkage, rtol=RTOL, atol=1e-15)
    if want.sample_indices is None:
        assert got.sample_indices is None
    else:
        np.testing.assert_array_equal(got.sample_indices, want.sample_indices)


# Linear logits (G·C < r), coordinates (G·C >= r), the complement group of
# the isotropic covariance, the shared covariance, centring, in-sample.
SETTINGS = [
    dict(),
    dict(n_groups=8),
    dict(n_groups=1, centering=True),
    dict(covariance="shared", n_groups=3),
    dict(covariance="identity", posterior="in_sample"),
    dict(covariance="shared", n_groups=8, random_state=3),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("kw", SETTINGS, ids=lambda kw: str(sorted(kw.items())))
def test_disco_out_of_core_equals_in_memory(data, tmp_path, kind, kw):
    X, y = data
    want = disco_components(X, y, hard_examples=None, **kw)
    got = disco_components(source_of(kind, X, tmp_path), y, hard_examples=None, **kw)
    _assert_same_result(got, want)


@pytest.mark.parametrize("kind", KINDS)
def test_disco_out_of_core_hard_examples_equal_in_memory(data, tmp_path, kind):
    # 'auto' above the threshold: the LDA pass ranks the rows out of core,
    # then the kept rows are read and scored, also with class covariances.
    X, y = data
    for kw in (dict(), dict(covariance="class")):
        want = disco_components(X, y, hard_examples_threshold=300, **kw)
        got = disco_components(
            source_of(kind, X, tmp_path), y, hard_examples_threshold=300, **kw
        )
        assert want.sample_indices.shape[0] >= 300
        _assert_same_result(got, want)


@pytest.mark.parametrize("kind", KINDS)
def test_disco_out_of_core_regression_equals_in_memory(data, tmp_path, kind):
    X, y = data
    Y = X[:, :2] @ np.array([[1.0, -0.5], [0.3, 2.0]]) + np.sin(y)[:, None]
    want = disco_components(X, Y, n_groups=4)
    got = disco_components(source_of(kind, X, tmp_path), Y, n_groups=4)
    _assert_same_result(got, want)


@pytest.mark.parametrize("kind", KINDS)
def test_disco_out_of_core_fewer_samples_than_features(tmp_path, kind):
    # N <= d: the dual form reads the rows whole (no more than a d × d Gram).
    X, y = classification_data(n=60, d=80, n_classes=3, seed=1)
    want = disco_components(X, y)
    got = disco_components(source_of(kind, X, tmp_path), y)
    _assert_same_result(got, want)


@pytest.mark.parametrize("kind", ["dask", "chunks"])
def test_disco_out_of_core_extreme_magnitude(data, tmp_path, kind):
    # Features beyond 2^200 are divided by a power of two block by block.
    X, y = data
    big = X * 1e250
    want = disco_components(big, y, hard_examples=None)
    got = disco_components(source_of(kind, big, tmp_path), y, hard_examples=None)
    _assert_same_result(got, want)
    assert got.score == pytest.approx(disco(X, y, hard_examples=None), rel=1e-12)


def test_disco_float32_dask_equals_in_memory(tmp_path):
    X, y = classification_data(dtype=np.float32, seed=2)
    want = disco_components(X, y, hard_examples=None, n_groups=3)
    got = disco_components(
        source_of("dask", X, tmp_path), y, hard_examples=None, n_groups=3
    )
    _assert_same_result(got, want)


def test_disco_generator_is_refused_clearly(data):
    # DISCO reads the rows several times (Gram, fold keys, fold sums,
    # posteriors): a generator cannot be read twice.
    X, y = data
    with pytest.raises(ValueError, match="generator, which can be read once"):
        disco(generator_of(X), y)


def test_disco_class_covariance_out_of_core_is_refused_clearly(data):
    X, y = data
    with pytest.raises(ValueError, match="covariance='class' cannot read out-of-core"):
        disco(source_of("dask", X, None), y, covariance="class", hard_examples=None)


@pytest.mark.filterwarnings("ignore:n_groups=2 exceeds")
def test_disco_constant_out_of_core_features_are_refused(data):
    X, y = data
    constant = np.ones_like(X)
    with pytest.raises(ValueError, match="features are constant"):
        disco(source_of("chunks", constant, None), y, hard_examples=None)
    # The first chunk constant, a later one not: a full pass decides.
    late = constant.copy()
    late[-1] += 1.0
    got = disco(source_of("chunks", late, None), y, hard_examples=None)
    assert got == pytest.approx(disco(late, y, hard_examples=None), rel=RTOL)


def test_disco_counts_its_passes(data):
    # Default settings (no centring), N > d: Gram, fold keys, fold class sums,
    # posteriors. Centring adds the mean; hard-example sampling adds its
    # class sums (which give the mean), Gram, LDA posteriors and the read of
    # the kept rows.
    X, y = data
    for kw, passes in [
        (dict(hard_examples=None), 4),
        (dict(hard_examples=None, centering=True), 5),
        (dict(hard_examples_threshold=300), 4),
        (dict(hard_examples=None, posterior="in_sample"), 3),
    ]:
        source = as_feature_source(source_of("chunks", X, None), n_samples=len(y))
        disco(source, y, **kw)
        assert source.passes == passes, kw


@pytest.mark.parametrize("kind", ["dask", "callable"])
def test_disco_scorer_out_of_core_equals_in_memory(data, tmp_path, kind):
    X, y = data
    scorer = DiscoScorer(n_groups=3, hard_examples=None)
    want = DiscoScorer(n_groups=3, hard_examples=None).fit(X, y)
    scorer.fit(source_of(kind, X, tmp_path), y)
    assert scorer.score_ == pytest.approx(want.score_, rel=RTOL)
    np.testing.assert_allclose(scorer.group_scores_, want.group_scores_, rtol=RTOL)
    assert scorer.n_features_in_ == X.shape[1]
    assert scorer.score(source_of(kind, X, tmp_path), y) == pytest.approx(
        want.score_, rel=RTOL
    )


def test_disco_on_two_worker_cluster_equals_in_memory(
    data, two_worker_dask_client, blocks_on_each_worker
):
    # The Gram, fold sums and posterior sums are reduced on the two workers.
    distributed = pytest.importorskip("dask.distributed")
    X, y = data
    want = disco_components(X, y, hard_examples_threshold=300, n_groups=3)
    client = two_worker_dask_client
    features = blocks_on_each_worker(client, X, n_blocks=6)
    with distributed.get_task_stream(client) as stream:
        got = disco_components(features, y, hard_examples_threshold=300, n_groups=3)
    _assert_same_result(got, want)
    workers = {t["worker"] for t in stream.data if "_block_statistics" in t["key"]}
    assert workers == set(client.scheduler_info()["workers"])


@pytest.mark.parametrize("kind", ["memmap", "dask", "chunks"])
def test_disco_detection_out_of_core_equals_in_memory(data, tmp_path, kind):
    X, y = data
    boxes = X[:, :4] + np.cos(y)[:, None]
    target = np.column_stack([y, boxes])
    want = disco_detection_components(X, target)
    got = disco_detection_components(source_of(kind, X, tmp_path), target)
    np.testing.assert_allclose(got, want, rtol=RTOL)
    scorer = DiscoDetectionScorer().fit(source_of(kind, X, tmp_path), target)
    np.testing.assert_allclose(scorer.components_, want, rtol=RTOL)
