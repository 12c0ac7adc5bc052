"""FeatureSource: the one row-block interface over out-of-core features."""

from functools import partial

import numpy as np
import pytest

from skdisco.utils import FeatureSource, as_feature_source, is_out_of_core, subsample
from skdisco.utils._source import iter_blocks, reduce_blocks
from skdisco.utils._validation import check_features

da = pytest.importorskip("dask.array")


@pytest.fixture
def X():
    return np.random.default_rng(0).normal(size=(53, 4))


def _sources(X, tmp_path):
    """Every source kind holding the rows of ``X`` (fresh objects)."""
    import h5py
    import zarr

    z = zarr.open_array(
        str(tmp_path / "x.zarr"), mode="w", shape=X.shape, chunks=(10, 4), dtype="f8"
    )
    z[:] = X
    h5 = h5py.File(tmp_path / "x.h5", "w")
    h5.create_dataset("x", data=X, chunks=(7, 4))
    chunks = [X[:20], X[20:21], X[21:]]
    return {
        "dask": da.from_array(X, chunks=(11, 2)),
        "zarr": z,
        "hdf5": h5["x"],
        "list": chunks,
        "callable": lambda: iter(chunks),
        "generator": (c for c in chunks),
    }


@pytest.mark.parametrize(
    "kind", ["dask", "zarr", "hdf5", "list", "callable", "generator"]
)
def test_blocks_give_every_row_once_in_order_as_float64(X, tmp_path, kind):
    source = as_feature_source(_sources(X, tmp_path)[kind], n_samples=X.shape[0])
    assert isinstance(source, FeatureSource)
    assert source.shape == X.shape
    parts, last = [], 0
    for start, stop, block in source.blocks(chunk_bytes=8 * 4 * 6):
        assert start == last and block.dtype == np.float64
        assert block.flags.c_contiguous and block.shape[0] <= 6
        parts.append(block)
        last = stop
    np.testing.assert_array_equal(np.concatenate(parts), X)
    assert source.passes == 1


@pytest.mark.parametrize("kind", ["dask", "zarr", "hdf5", "list", "tensor"])
def test_a_known_number_of_rows_other_than_expected_is_refused_at_once(
    X, tmp_path, kind
):
    # Before any pass: the shape (or the chunks' shapes) says it already. An
    # HDF5 dataset used to be read whole before the mismatch was noticed.
    import torch

    data = torch.as_tensor(X) if kind == "tensor" else _sources(X, tmp_path)[kind]
    device = "cpu" if kind == "tensor" else None
    with pytest.raises(ValueError, match="53 rows.*but 52 were expected"):
        as_feature_source(data, n_samples=52, device=device)
    source = as_feature_source(da.from_array(X, chunks=(11, 4)))
    with pytest.raises(ValueError, match="53 rows, but 54 were expected"):
        as_feature_source(source, n_samples=54)


@pytest.mark.parametrize("kind", ["dask", "zarr", "hdf5"])
def test_rows_read_chosen_rows_in_the_order_given(X, tmp_path, kind):
    source = as_feature_source(_sources(X, tmp_path)[kind])
    index = [40, 3, 3, 17, 0]
    np.testing.assert_array_equal(source.rows(index), X[index])
    np.testing.assert_array_equal(source.rows(slice(5, 9)), X[5:9])
    np.testing.assert_array_equal(source[7], X[7])
    np.testing.assert_array_equal(source[[1, 2], 1:3], X[[1, 2], 1:3])
    assert source.rows([]).shape == (0, 4)
    assert source.passes == 0  # random access is not a pass


@pytest.mark.parametrize("kind", ["zarr", "dask"])
def test_chosen_rows_are_read_in_chunks_and_a_bad_row_is_named(X, tmp_path, kind):
    # The distinct chosen rows are read chunk by chunk, in ascending order,
    # into the float64 result; a non-finite value is reported by its row in
    # the source, not by its position among the chosen rows.
    from skdisco.utils import _source

    X = X.astype(np.float32)
    X[31, 2] = np.nan
    source = as_feature_source(_sources(X, tmp_path)[kind])
    index = np.array([0, 4, 5, 12, 30, 40, 52])
    reads = []
    original = source._read
    source._read = lambda idx: reads.append(len(idx)) or original(idx)
    monkey = pytest.MonkeyPatch()
    monkey.setattr(_source, "CHUNK_BYTES", 8 * 4 * 3)  # three rows a chunk
    try:
        got = source.rows(index)
    finally:
        monkey.undo()
    assert got.dtype == np.float64 and got.flags.c_contiguous
    np.testing.assert_array_equal(got, X[index].astype(np.float64))
    assert reads == [3, 3, 1]
    with pytest.raises(ValueError, match=r"first in row 31\)"):
        source.rows(np.array([2, 30, 31, 33]))
    # Any order, repeats included: the distinct rows are read the same way.
    reads.clear()
    monkey.setattr(_source, "CHUNK_BYTES", 8 * 4 * 3)
    try:
        got = source.rows(np.array([52, 4, 4, 0, 40]))
        np.testing.assert_array_equal(got, X[[52, 4, 4, 0, 40]].astype(np.float64))
        assert reads == [3, 1]
        with pytest.raises(ValueError, match=r"first in row 31\)"):
            source.rows(np.array([33, 31, 2, 31]))
    finally:
        monkey.undo()


def test_iterables_have_no_random_access(X):
    source = as_feature_source([X[:10], X[10:]])
    assert not source.random_access
    with pytest.raises(ValueError, match="can only be read in order"):
        source.rows([1, 2])


def test_peek_reads_the_first_rows_without_a_pass(X, tmp_path):
    for kind, data in _sources(X, tmp_path).items():
        source = as_feature_source(data, n_samples=X.shape[0])
        first = source.peek(chunk_bytes=8 * 4 * 5)
        np.testing.assert_array_equal(first, X[: first.shape[0]])
        assert 1 <= first.shape[0] <= 20 and source.passes == 0, kind
    # A generator's peeked chunk is still given to the pass after it.
    gen = as_feature_source((c for c in [X[:30], X[30:]]), n_samples=X.shape[0])
    gen.peek()
    np.testing.assert_array_equal(np.concatenate([b for *_, b in gen.blocks()]), X)


def test_a_callable_is_counted_by_a_first_pass_and_read_afresh(X):
    calls = []

    def read():
        calls.append(1)
        return iter([X[:30], X[30:]])

    source = as_feature_source(read)
    assert source.shape == X.shape and source.passes == 0
    for _ in range(2):
        assert sum(b.shape[0] for *_, b in source.blocks()) == X.shape[0]
    assert source.passes == 2 and len(calls) == 4  # first chunk, count, 2 passes


def test_a_generator_is_read_once_and_a_second_pass_is_refused(X):
    source = as_feature_source((c for c in [X[:30], X[30:]]), n_samples=53)
    assert sum(b.shape[0] for *_, b in source.blocks()) == 53
    with pytest.raises(ValueError, match="generator, which can be read once"):
        list(source.blocks())


def test_a_pass_with_another_number_of_rows_is_refused(X):
    # A list is counted from its chunks' shapes, before any pass.
    with pytest.raises(ValueError, match="have 53 rows .*2 chunks.*but 60 were"):
        as_feature_source([X[:10], X[10:]], n_samples=60)
    # A function's rows are counted by the passes: fewer at the end of one,
    # more before a row beyond the expected ones is read.
    source = as_feature_source(lambda: iter([X[:10], X[10:]]), n_samples=60)
    with pytest.raises(ValueError, match="gave 53 rows in this pass, but 60"):
        list(source.blocks())
    source = as_feature_source(lambda: iter([X[:10], X[10:]]), n_samples=40)
    with pytest.raises(ValueError, match="gave more than the 40 rows expected"):
        list(source.blocks())


def test_a_target_of_another_length_than_chunked_features_is_named(X):
    from skdisco.transferability import hscore, logme

    y = np.arange(X.shape[0]) % 3
    with pytest.raises(ValueError, match="53 rows .* but 52 were expected"):
        logme([X[:10], X[10:]], y[:-1])
    with pytest.raises(ValueError, match="more than the 52 rows expected"):
        hscore(lambda: iter([X[:10], X[10:]]), y[:-1])


def test_a_dask_array_of_unknown_chunk_sizes_is_read():
    from skdisco.transferability import logme

    rng = np.random.default_rng(0)
    F = rng.standard_normal((300, 6))
    y = np.arange(300) % 3
    F[:, 0] += y
    arr = da.from_array(F, chunks=(70, 6))
    unknown = arr[da.from_array(np.ones(300, bool), chunks=70)]
    assert np.isnan(unknown.shape[0])
    assert logme(unknown, y) == pytest.approx(logme(F, y), rel=1e-12)


def test_chunk_validation_errors_name_the_problem(X):
    with pytest.raises(ValueError, match="chunk 1 .from row 10. has shape"):
        as_feature_source([X[:10], X[10:, :3]], n_samples=53)
    with pytest.raises(ValueError, match="chunk 1 .from row 10. has shape .4,."):
        as_feature_source([X[:10], X[10]])  # a row among chunks, not a chunk
    with pytest.raises(ValueError, match="starting at row 10 has shape"):
        list(as_feature_source(lambda: iter([X[:10], X[10:, :3]])).blocks())
    with pytest.raises(ValueError, match="must be 2-D"):
        as_feature_source(lambda: iter([X[0], X[1]]))
    with pytest.raises(ValueError, match="empty iterable"):
        as_feature_source(lambda: iter([]))
    with pytest.raises(ValueError, match="must be numeric"):
        list(as_feature_source([X[:2].astype(str)]).blocks())
    with pytest.raises(ValueError, match="must be 2-D"):
        as_feature_source(da.ones(5))
    with pytest.raises(ValueError, match="are empty"):
        as_feature_source(da.ones((0, 3)))
    with pytest.raises(ValueError, match="not out-of-core features"):
        as_feature_source(3.0)


def test_a_nan_is_reported_with_its_row(X):
    bad = X.copy()
    bad[37, 2] = np.nan
    for data in ([bad[:30], bad[30:]], da.from_array(bad, chunks=10)):
        with pytest.raises(ValueError, match="first in row 37"):
            list(as_feature_source(data).blocks())
    bad[37, 2] = np.inf
    with pytest.raises(ValueError, match="first in row 37"):
        reduce_blocks(as_feature_source(da.from_array(bad, chunks=10)), np.sum)


def test_converting_a_source_to_an_array_is_refused(X):
    source = as_feature_source([X[:10], X[10:]])
    with pytest.raises(ValueError, match="subsample"):
        np.asarray(source)


def test_to_array_reads_every_row(X):
    source = as_feature_source(da.from_array(X, chunks=7))
    np.testing.assert_array_equal(source.to_array(), X)


def test_is_out_of_core_tells_sources_from_arrays(X, tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, X)
    assert not is_out_of_core(np.load(path, mmap_mode="r"))
    assert not is_out_of_core(X) and not is_out_of_core(X.tolist())
    for data in _sources(X, tmp_path).values():
        assert is_out_of_core(data)
    source = as_feature_source([X])
    assert as_feature_source(source) is source


def _sum_and_count(block, y_block):
    return block.sum(axis=0), np.bincount(y_block, minlength=3)


@pytest.mark.parametrize("kind", ["dask", "zarr", "list", "callable"])
def test_reduce_blocks_sums_block_statistics_with_their_rows(X, tmp_path, kind):
    y = np.arange(X.shape[0]) % 3
    source = as_feature_source(_sources(X, tmp_path)[kind], n_samples=53)
    total, counts = reduce_blocks(source, _sum_and_count, y, chunk_bytes=8 * 4 * 5)
    np.testing.assert_allclose(total, X.sum(axis=0), rtol=1e-13)
    np.testing.assert_array_equal(counts, np.bincount(y))
    largest = reduce_blocks(
        source, partial(np.max, axis=None), combine=max, chunk_bytes=8 * 4 * 5
    )
    assert largest == X.max()


def test_reduce_blocks_of_a_dask_source_runs_one_task_per_stored_block(X):
    import dask

    seen = []

    def count(block):
        seen.append(block.shape[0])
        return block.shape[0]

    source = as_feature_source(da.from_array(X, chunks=(20, 4)))
    with dask.config.set(scheduler="synchronous"):
        assert reduce_blocks(source, count) == 53
    assert sorted(seen) == [13, 20, 20] and source.passes == 1


def test_iter_blocks_of_an_array_is_bounded(X):
    blocks = list(iter_blocks(X.astype(np.float32), chunk_bytes=8 * 4 * 10))
    assert [b.shape[0] for *_, b in blocks] == [10] * 5 + [3]
    assert all(b.dtype == np.float64 for *_, b in blocks)


def test_check_features_returns_a_source_only_when_asked(X):
    source = check_features(da.from_array(X), out_of_core=True, n_samples=53)
    assert isinstance(source, FeatureSource) and source.shape == X.shape
    with pytest.raises(ValueError, match="kNN probe needs all features in memory"):
        check_features(da.from_array(X), out_of_core="kNN probe")
    with pytest.raises(ValueError, match="subsample"):
        check_features([X[:10], X[10:]])
    with pytest.raises(ValueError, match="at least 60 are needed"):
        check_features(da.from_array(X), out_of_core=True, min_samples=60)
    # In-memory input is unchanged by the option.
    assert check_features(X, out_of_core=True) is X


def test_subsample_is_stratified_and_reads_only_the_chosen_rows(X):
    y = np.array([0] * 40 + [1] * 10 + [2] * 3)
    read = []

    class Spy:
        """A sliceable array that records the rows read (an HDF5 stand-in)."""

        shape, dtype, ndim = X.shape, X.dtype, 2

        def __getitem__(self, index):
            read.append(np.atleast_1d(np.arange(53)[index]))
            return X[index]

    Spy.__module__ = "h5py.fake"
    X_sub, y_sub = subsample(Spy(), y, 10, random_state=1)
    assert np.bincount(y_sub).tolist() == [8, 2, 0] or np.bincount(y_sub).tolist() == [
        7,
        2,
        1,
    ]
    assert set(np.unique(y_sub)) == {0, 1, 2}  # a small class keeps a row
    chosen = np.concatenate(read)
    assert chosen.size == 10  # only the chosen rows were read
    np.testing.assert_array_equal(X_sub, X[chosen])
    np.testing.assert_array_equal(y_sub, y[chosen])
    # Same rows from every source kind, and from an iterable in one pass.
    listed = as_feature_source([X[:25], X[25:]], n_samples=53)
    X_list, _ = subsample(listed, y, 10, random_state=1)
    np.testing.assert_array_equal(X_list, X_sub)
    assert listed.passes == 1
    X_da, y_da = subsample(
        da.from_array(X, chunks=9), da.from_array(y), 10, random_state=1
    )
    np.testing.assert_array_equal(X_da, X_sub)
    np.testing.assert_array_equal(y_da, y_sub)


def test_subsample_of_all_rows_or_a_bad_size(X):
    y = np.zeros(53, dtype=int)
    X_all, y_all = subsample(X, y, 100)
    np.testing.assert_array_equal(X_all, X)
    with pytest.raises(ValueError, match="positive integer"):
        subsample(X, y, 0)
    X_r, _ = subsample(X, np.linspace(0, 1, 53), 5, random_state=0)
    assert X_r.shape == (5, 4)  # a real-valued target: a plain random draw
