"""Out-of-core versions of one feature matrix, for the out-of-core score tests.

Each maker returns features holding exactly the rows of ``X`` (as float32 or
float64, the dtype of ``X``): a ``numpy.memmap`` on disk, a Dask array whose
chunks split classes (odd chunk sizes over label-sorted rows), a list of
chunks, a function returning a fresh iterator of chunks, and a one-shot
generator.
"""

import numpy as np
import pytest

#: Odd chunk sizes: over rows sorted by label every class is cut somewhere.
CHUNK_ROWS = 37


def memmap_of(X, tmp_path):
    path = tmp_path / "features.dat"
    mm = np.memmap(path, dtype=X.dtype, mode="w+", shape=X.shape)
    mm[:] = X
    mm.flush()
    return np.memmap(path, dtype=X.dtype, mode="r", shape=X.shape)


def dask_of(X, rows=CHUNK_ROWS):
    da = pytest.importorskip("dask.array")
    return da.from_array(X, chunks=(rows, X.shape[1]))


def chunks_of(X, rows=CHUNK_ROWS):
    return [X[i : i + rows] for i in range(0, X.shape[0], rows)]


def callable_of(X, rows=CHUNK_ROWS):
    return lambda: iter(chunks_of(X, rows))


def generator_of(X, rows=CHUNK_ROWS):
    return (X[i : i + rows] for i in range(0, X.shape[0], rows))


#: The re-readable out-of-core kinds every streaming score must take.
KINDS = ("memmap", "dask", "chunks", "callable")


def source_of(kind, X, tmp_path):
    if kind == "memmap":
        return memmap_of(X, tmp_path)
    if kind == "dask":
        return dask_of(X)
    if kind == "chunks":
        return chunks_of(X)
    if kind == "callable":
        return callable_of(X)
    if kind == "generator":
        return generator_of(X)
    raise ValueError(kind)


def classification_data(n=600, d=20, n_classes=4, seed=0, dtype=np.float64):
    """Gaussian classes with a few informative directions; rows sorted by label."""
    rng = np.random.default_rng(seed)
    y = np.sort(rng.integers(0, n_classes, n))
    centers = rng.normal(scale=2.0, size=(n_classes, d)) * (np.arange(d) < 6)
    X = centers[y] + rng.normal(size=(n, d)) * np.linspace(2.0, 0.2, d)
    return X.astype(dtype), y
