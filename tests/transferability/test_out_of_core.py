"""Out-of-core scores equal the in-memory ones, on every kind of source.

Features arrive as a numpy.memmap, Dask arrays of several chunkings (blocks
that split classes), zarr arrays, HDF5 datasets, a list of chunks, a function
returning chunks, and a generator (one-pass scores only); each streaming score
must give the in-memory value to 1e-9. Scores that need every sample at once
refuse them with an error that points to ``subsample``, which then works.
"""

import warnings

import numpy as np
import pytest

from skdisco import scorers
from skdisco.transferability import (
    gbc,
    hscore,
    knn_probe,
    logme,
    nleep,
    parc,
    regularized_hscore,
    transrate,
)
from skdisco.utils import as_feature_source, subsample

da = pytest.importorskip("dask.array")

RTOL = 1e-9

# (function, keyword arguments): every streaming score and variant.
STREAMING = {
    "logme": (logme, {}),
    "hscore": (hscore, {}),
    "hscore_pactran": (hscore, {"variant": "pactran"}),
    "regularized_hscore": (regularized_hscore, {}),
    "gbc": (gbc, {}),
    "gbc_diagonal_pca": (gbc, {"gaussian_type": "diagonal", "n_components": 3}),
    "transrate": (transrate, {}),
    "transrate_tllib": (transrate, {"variant": "tllib"}),
    "transrate_projection": (transrate, {"variant": "official_projection"}),
}
ONE_PASS = {"logme"}


def _data(n=300, d=7, seed=0):
    """Class-structured features, labels interleaved (every block splits
    classes), and one class of 4 rows (fewer than d: TransRate's kernel path)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    y[rng.choice(n, 4, replace=False)] = 4
    means = rng.normal(scale=1.5, size=(5, d))
    X = (means[y] + rng.normal(size=(n, d)) + 3.0).astype(np.float32)
    return X, y


def _source(kind, X, tmp_path):
    import h5py
    import zarr

    n = X.shape[0]
    if kind == "memmap":
        np.save(tmp_path / "x.npy", X)
        return np.load(tmp_path / "x.npy", mmap_mode="r")
    if kind == "dask_rows":
        return da.from_array(X, chunks=(37, -1))
    if kind == "dask_grid":
        return da.from_array(X, chunks=(n // 3 + 1, 3))
    if kind == "dask_one":
        return da.from_array(X)
    if kind == "zarr":
        z = zarr.open_array(
            str(tmp_path / "x.zarr"), mode="w", shape=X.shape, chunks=(50, 7)
        )
        z[:] = X
        return z
    if kind == "hdf5":
        f = h5py.File(tmp_path / "x.h5", "w")
        return f.create_dataset("x", data=X, chunks=(41, X.shape[1]))
    chunks = [X[:100], X[100:101], X[101:250], X[250:]]
    if kind == "list":
        return chunks
    if kind == "callable":
        return lambda: iter(chunks)
    assert kind == "generator"
    return (c for c in chunks)


KINDS = [
    "memmap",
    "dask_rows",
    "dask_grid",
    "dask_one",
    "zarr",
    "hdf5",
    "list",
    "callable",
    "generator",
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", sorted(STREAMING))
def test_streaming_score_equals_the_in_memory_score(name, kind, tmp_path):
    fn, kwargs = STREAMING[name]
    X, y = _data()
    expected = fn(X, y, **kwargs)
    source = _source(kind, X, tmp_path)
    if kind == "generator" and name not in ONE_PASS:
        with pytest.raises(ValueError, match="generator, which can be read once"):
            fn(source, y, **kwargs)
        return
    assert fn(source, y, **kwargs) == pytest.approx(expected, rel=RTOL)


@pytest.mark.parametrize("name", sorted(STREAMING))
def test_streaming_score_with_fewer_samples_than_features(name):
    # N ≤ D: the kernel paths read the rows whole (no more than a D × D Gram).
    fn, kwargs = STREAMING[name]
    X, y = _data(n=12, d=20, seed=3)
    y[:5] = np.arange(5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # H-score saturates at N ≤ D
        expected = fn(X, y, **kwargs)
        got = fn(da.from_array(X, chunks=5), y, **kwargs)
    assert got == pytest.approx(expected, rel=RTOL)


def test_logme_reads_a_generator_in_one_pass_and_a_regression_target():
    X, y = _data()
    source = as_feature_source((c for c in np.array_split(X, 5)), n_samples=300)
    assert logme(source, y) == pytest.approx(logme(X, y), rel=RTOL)
    assert source.passes == 1
    noise = np.random.default_rng(5).normal(size=300)
    t = X[:, :2].astype(np.float64) @ [1.0, -2.0] + noise
    chunks = np.array_split(X, 4)
    assert logme(chunks, t) == pytest.approx(logme(X, t), rel=RTOL)


def _counting(X, calls):
    chunks = np.array_split(X, 6)

    def read():
        calls.append(1)
        return iter(chunks)

    return read


@pytest.mark.parametrize(
    ("name", "passes"),
    [
        ("logme", 1),
        ("hscore", 2),
        ("regularized_hscore", 2),  # Σ‖x - μ‖⁴ from the Gram's chunks
        ("gbc", 2),
        ("gbc_diagonal_pca", 3),
    ],
)
def test_number_of_passes(name, passes):
    fn, kwargs = STREAMING[name]
    X, y = _data()
    calls = []
    source = as_feature_source(_counting(X, calls), n_samples=300)
    calls.clear()
    fn(source, y, **kwargs)
    # peek() opens the iterator once more to fix the scale: not a pass.
    assert source.passes == passes


def test_transrate_reads_class_batches_of_an_iterable_in_bounded_passes():
    # d = 3: a batch holds at most 4·d² float64 = 288 bytes of class
    # accumulators (each min(n_c, d)·d = 72 bytes): 4 classes per pass.
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(9), 20)
    rng.shuffle(y)
    X = rng.normal(size=(180, 3)) + y[:, None]
    source = as_feature_source(np.array_split(X, 7), n_samples=180)
    got = transrate(source, y, variant="tllib")
    assert got == pytest.approx(transrate(X, y, variant="tllib"), rel=RTOL)
    # mean (class sums), centred Gram, then ceil(9 / 4) = 3 class batches.
    assert source.passes == 2 + 3


SCORERS = [
    scorers.LogMEScorer(),
    scorers.HScoreScorer(),
    scorers.RegularizedHScoreScorer(),
    scorers.GBCScorer(gaussian_type="diagonal"),
    scorers.TransRateScorer(),
    scorers.TransRateScorer(variant="official_projection"),
]


@pytest.mark.parametrize("scorer", SCORERS, ids=lambda s: repr(s))
def test_streaming_scorer_fit_and_score_equal_in_memory(scorer, tmp_path):
    X, y = _data()
    labels = np.array(["a", "b", "c", "d", "e"])[y]
    expected = scorer.fit(X, labels).score_
    fitted = scorer.fit(da.from_array(X, chunks=(64, -1)), labels)
    assert fitted.score_ == pytest.approx(expected, rel=RTOL)
    assert fitted.n_features_in_ == 7
    np.testing.assert_array_equal(fitted.classes_, np.unique(labels))
    assert fitted.score(np.array_split(X, 3), labels) == pytest.approx(
        expected, rel=RTOL
    )
    with pytest.raises(ValueError, match="X has 6 features"):
        fitted.score(da.from_array(X[:, :6]), labels)


def test_extreme_magnitudes_out_of_core_are_rescaled_block_by_block():
    # Features beyond 2^±256 square past float64: a scale-invariant score reads
    # them divided by a power of two as each block arrives (no rescaled copy).
    X, y = _data()
    big = da.from_array(X.astype(np.float64) * 2.0**300, chunks=50)
    assert hscore(big, y) == pytest.approx(hscore(X, y), rel=RTOL)
    assert logme(big, y) == pytest.approx(logme(X, y), rel=RTOL)


@pytest.mark.parametrize(
    ("scorer", "reason"),
    [
        (scorers.KNNProbeScorer(), "k-nearest-neighbour"),
        (scorers.LinearProbeScorer(), "logistic regression"),
        (scorers.NLEEPScorer(), "Gaussian mixture"),
        (scorers.PARCScorer(), "N × N"),
        (scorers.PACTranGaussScorer(), "optimiser"),
        (scorers.LEEPScorer(), "simplex"),
        (scorers.NCEScorer(), "simplex"),
        (scorers.PACTranDirichletScorer(), "simplex"),
    ],
    ids=lambda s: type(s).__name__ if not isinstance(s, str) else "",
)
def test_in_memory_scorers_refuse_out_of_core_features_and_say_why(scorer, reason):
    X, y = _data()
    P = np.full((300, 3), 1 / 3)
    data = da.from_array(P if "simplex" == reason else X, chunks=100)
    with pytest.raises(ValueError, match="subsample") as info:
        scorer.fit(data, y)
    assert reason in str(info.value) and type(scorer).__name__ in str(info.value)


@pytest.mark.parametrize(
    ("fn", "name"),
    [(knn_probe, "kNN probe"), (nleep, "NLEEP"), (parc, "PARC")],
)
def test_in_memory_functions_refuse_then_score_a_subsample(fn, name):
    X, y = _data()
    big = da.from_array(X, chunks=(64, -1))
    with pytest.raises(ValueError, match=f"{name} needs all features in memory"):
        fn(big, y)
    X_sub, y_sub = subsample(big, y, n_samples=210, random_state=0)
    assert X_sub.shape == (210, 7) and set(y_sub) == set(y)
    index = np.flatnonzero(np.isin(np.arange(300), _chosen(X, X_sub)))
    np.testing.assert_array_equal(y_sub, y[index])
    assert np.isfinite(fn(X_sub, y_sub))
    assert fn(X_sub, y_sub) == fn(X[index], y[index])


def _chosen(X, X_sub):
    """Row numbers of ``X_sub``'s rows in ``X`` (rows are distinct)."""
    lookup = {row.tobytes(): i for i, row in enumerate(X.astype(np.float64))}
    return [lookup[row.tobytes()] for row in X_sub]
