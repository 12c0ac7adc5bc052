"""Features that do not fit in memory: one row-block interface over every source.

A transferability score whose maths reduces to sufficient statistics (Gram
matrices, class sums) or to a fixed number of passes over the rows never needs
all N × d features at once. :class:`FeatureSource` gives such a score the rows
of any out-of-core matrix one bounded float64 block at a time:

- a Dask array (and through it zarr, HDF5 or any store Dask reads), whose
  blocks are reduced *on the workers* of the active Dask scheduler by
  ``reduce_blocks``, so a cluster shares the work of one score;
- any other sliceable 2-D array object (``zarr.Array``, ``h5py.Dataset``);
- an iterable of row chunks: a list of arrays, a function returning a fresh
  iterator for every pass, or a generator (read once: enough for a one-pass
  score);
- a torch tensor on any device.

A ``numpy.memmap`` (and any ndarray) stays an ndarray: the scores' chunked
passes read it in place already. Memory stays O(d² + chunk · d).

A source with a torch ``device`` (``as_feature_source(X, device="cuda")``, or a
CUDA tensor, which stays on its device) has its row passes run in torch there
(:mod:`skdisco.utils._torch`): its blocks reach the device as tensors
(:meth:`FeatureSource.device_blocks`; host rows through pinned memory), and
only the d × d and C × d statistics come back.
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from ._docstrings import fill_doc
from ._store import is_dask, is_tensor

# Rows converted to float64 at a time (the same bound as _linalg's chunked passes).
CHUNK_BYTES = 64 * 2**20

#: ``validate_params`` constraint of a score's ``features`` that reads row blocks.
STREAMING_FEATURES = ["array-like", callable, Iterator]

#: ``validate_params`` constraint of a streaming score's ``device`` parameter.
DEVICE_PARAMETER = [str, None]

#: The ``device`` entry of a streaming score's Parameters section (4-space
#: indented docstrings; see :func:`fill_device_doc`).
DEVICE_DOC = """device : {"cpu", "cuda", "auto"}, default=None
        Where the passes over the rows run (the torch backend; see the GPU
        page of the user guide): None for NumPy on the host (a CUDA tensor
        stays on its GPU, in float64); ``"cpu"`` torch float64 on the CPU,
        equal to NumPy to round-off; ``"cuda"`` float32 products with float64
        totals on the GPU (TF32 off, blocks centred on a shift: the tolerance
        of each score is on that page); ``"auto"`` CUDA when available, else
        the CPU. Only the statistics of the passes (Gram matrices, class sums)
        come back; the rest of the score runs on the host in float64."""

#: Decorator filling ``{device}`` in a score's docstring with :data:`DEVICE_DOC`;
#: apply it below ``validate_params`` (which copies the docstring).
fill_device_doc = fill_doc(device=DEVICE_DOC)

__all__ = ["FeatureSource", "as_feature_source", "is_out_of_core", "subsample"]


def _rows_per_chunk(n_features, chunk_bytes):
    return max(1, int(chunk_bytes // (8 * max(int(n_features), 1))))


def _is_sliceable_array(obj):
    """An array-like that is not an ndarray but slices like one (zarr, HDF5)."""
    if isinstance(obj, np.ndarray) or is_dask(obj) or is_tensor(obj):
        return False
    shape = getattr(obj, "shape", None)
    return (
        shape is not None
        and hasattr(obj, "dtype")
        and hasattr(obj, "__getitem__")
        and len(shape) == 2
        and type(obj).__module__.split(".")[0] in ("zarr", "h5py")
    )


def is_device_tensor(obj):
    """Whether ``obj`` is a torch tensor off the CPU (it stays on its device)."""
    return is_tensor(obj) and obj.device.type != "cpu"


def _numpy_dtype(chunk):
    """The NumPy dtype of an array's or a tensor's elements."""
    if is_tensor(chunk):
        name = str(chunk.dtype).replace("torch.", "")
        # bfloat16 has no NumPy dtype: it is a float.
        return np.dtype("float32" if name == "bfloat16" else name)
    return np.dtype(chunk.dtype)


def _is_chunk_iterable(obj):
    if isinstance(obj, (np.ndarray, str, bytes, dict)) or hasattr(obj, "shape"):
        return False
    if callable(obj):
        return True
    if isinstance(obj, Iterator):
        return True
    if isinstance(obj, (list, tuple)):
        # A list of arrays with a 2-D one among them: chunks (any other shape
        # is named by the layout check), not a nested list of numbers or a
        # list of 1-D rows (a matrix).
        return (
            len(obj) > 0
            and all(hasattr(c, "ndim") for c in obj)
            and any(c.ndim >= 2 for c in obj)
        )
    return isinstance(obj, Iterable) and not hasattr(obj, "__array__")


def is_out_of_core(X):
    """Whether ``X`` is features a score reads in row blocks, never whole.

    True for a :class:`FeatureSource`, a Dask array, a zarr array or HDF5
    dataset, and an iterable of row chunks (a list of 2-D arrays, a function
    returning an iterator, a generator). An ndarray -- a ``numpy.memmap``
    included -- is not: it is read in place.

    Parameters
    ----------
    X : object
        Anything passed as features.

    Returns
    -------
    out_of_core : bool
        Whether :func:`as_feature_source` wraps ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.utils import is_out_of_core
    >>> is_out_of_core(np.ones((4, 2)))
    False
    >>> is_out_of_core([np.ones((2, 2)), np.ones((2, 2))])
    True
    """
    return (
        isinstance(X, FeatureSource)
        or is_dask(X)
        or _is_sliceable_array(X)
        or _is_chunk_iterable(X)
    )


class FeatureSource:
    """Row blocks of a feature matrix that is not held in memory.

    Made by :func:`as_feature_source`; a score reads it with :meth:`blocks`
    (every row once, in order, as bounded float64 blocks), :meth:`rows` (chosen
    rows, for sources with random access) and ``reduce_blocks`` (a sum of
    per-block statistics, on the Dask workers for a Dask array). Every block is
    checked for NaN and infinity as it is read; a ValueError names its rows.
    Converting the whole source to an array is refused (``np.asarray`` raises
    a ValueError), so no score materialises it by accident.

    Parameters
    ----------
    data : object
        The source: a Dask array, a sliceable array (zarr, HDF5), an iterable
        of chunks or a callable returning one, or a torch tensor.
    kind : {"dask", "array", "iterable", "torch"}
        What ``data`` is.
    n_samples : int or None
        Number of rows; None for an iterable until a pass has counted them.
    n_features : int
        Number of columns.
    dtype : numpy.dtype
        Element type of the stored features.
    name : str, default="features"
        Name in error messages.
    device : torch.device or None, default=None
        Where the row passes run: None for NumPy on the host, else a torch
        device (see :func:`as_feature_source`).
    pass_dtype : {"float64", "float32"}, default="float64"
        Element type of the O(N·d²) products of the passes on ``device``.

    Attributes
    ----------
    passes : int
        Passes over the rows begun so far (for :meth:`blocks`).

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.utils import as_feature_source
    >>> chunks = [np.ones((3, 2)), np.zeros((2, 2))]
    >>> source = as_feature_source(chunks)
    >>> source.shape
    (5, 2)
    >>> [(start, stop) for start, stop, _ in source.blocks()]
    [(0, 3), (3, 5)]
    """

    ndim = 2

    def __init__(
        self,
        data,
        kind,
        n_samples,
        n_features,
        dtype,
        name="features",
        device=None,
        pass_dtype="float64",
    ):
        self.data = data
        self.kind = kind
        self.n_samples = None if n_samples is None else int(n_samples)
        self.n_features = int(n_features)
        self.dtype = np.dtype(dtype)
        self.name = name
        self.device = device
        self.pass_dtype = pass_dtype
        self.passes = 0
        self._one_shot = kind == "iterable" and isinstance(data, Iterator)
        self._first = None  # a one-shot iterator's first chunk, read to size it

    # -- shape -------------------------------------------------------------
    @property
    def shape(self):
        """``(n_samples, n_features)``."""
        return (self.n_samples, self.n_features)

    def __len__(self):
        return self.n_samples

    @property
    def random_access(self):
        """Whether :meth:`rows` can read chosen rows (not for iterables)."""
        return self.kind != "iterable"

    @property
    def distributed(self):
        """Whether ``reduce_blocks`` runs on the Dask scheduler's workers."""
        return self.kind == "dask"

    def __repr__(self):
        n = "?" if self.n_samples is None else self.n_samples
        where = "" if self.device is None else f", on {self.device}"
        return (
            f"FeatureSource({self.kind}, {n} x {self.n_features}, {self.dtype}{where})"
        )

    def __array__(self, dtype=None, copy=None):
        raise ValueError(
            f"{self.name} are out of core ({self!r}); this computation would load "
            "all of them into memory at once. Pass an in-memory array or a "
            "numpy.memmap instead, or draw a subset with "
            "skdisco.utils.subsample(X, y, n_samples=...)."
        )

    # -- reading -----------------------------------------------------------
    def _check_block(self, block, start):
        self._check_layout(block, start)
        if block.dtype.kind == "f" and not np.isfinite(block).all():
            self._raise_not_finite(
                start + int(np.flatnonzero(~np.isfinite(block).all(axis=1))[0])
            )

    def _check_layout(self, block, start):
        """Columns and element type of a chunk (an array or a tensor)."""
        if block.ndim != 2 or block.shape[1] != self.n_features:
            raise ValueError(
                f"{self.name}: the chunk starting at row {start} has shape "
                f"{tuple(block.shape)}; every chunk must have {self.n_features} "
                "columns."
            )
        dtype = _numpy_dtype(block)
        if dtype.kind not in "fiub":
            raise ValueError(
                f"{self.name} must be numeric; the chunk starting at row {start} "
                f"has dtype {block.dtype}."
            )

    def _raise_not_finite(self, row):
        raise ValueError(
            f"{self.name} contain NaN or infinity (first in row {row}); every "
            "feature must be finite."
        )

    def _raw_chunks(self, keep_tensors=False):
        """Yield ``(start, chunk)`` of stored rows, any dtype, source-sized.

        Chunks are NumPy arrays; with ``keep_tensors`` a tensor (the source's,
        or a chunk an iterable gives) stays a tensor on its device.
        """
        if self.kind == "dask":
            start = 0
            for i in range(self.data.numblocks[0]):
                chunk = np.asarray(self.data.blocks[i].compute())
                yield start, chunk
                start += chunk.shape[0]
        elif self.kind == "torch":
            step = _rows_per_chunk(self.n_features, CHUNK_BYTES)
            for start in range(0, self.n_samples, step):
                part = self.data[start : start + step].detach()
                yield start, part if keep_tensors else part.to("cpu").numpy()
        elif self.kind == "array":
            step = _rows_per_chunk(self.n_features, CHUNK_BYTES)
            for start in range(0, self.n_samples, step):
                yield start, np.asarray(self.data[start : start + step])
        else:
            start = 0
            for chunk in self._iterate():
                chunk = _chunk_array(chunk, keep_tensors)
                if self.n_samples is not None and start + len(chunk) > self.n_samples:
                    # Before any row beyond the target's is scored.
                    raise ValueError(
                        f"{self.name} gave more than the {self.n_samples} rows "
                        "expected (as many as the target has, and the same on "
                        "every pass)."
                    )
                yield start, chunk
                start += chunk.shape[0]

    def _iterate(self):
        if self._one_shot:
            if self.passes > 1:
                raise ValueError(
                    f"{self.name} come from a generator, which can be read once, "
                    "but this score reads the rows more than once. Pass a list "
                    "of chunks, or a function returning a fresh iterator of "
                    "chunks for every pass (e.g. lambda: read_chunks(path))."
                )
            if self._first is not None:
                yield self._first
                self._first = None
            yield from self.data
            return
        yield from (self.data() if callable(self.data) else self.data)

    def blocks(self, chunk_bytes=CHUNK_BYTES):
        """Yield ``(start, stop, block)``: every row once, in order, as float64.

        Blocks are C-contiguous float64 copies of at most ``chunk_bytes`` (or
        of one stored chunk, when smaller), checked finite.

        Parameters
        ----------
        chunk_bytes : int, default=64 MiB
            Largest float64 block.

        Yields
        ------
        start, stop : int
            Rows ``start:stop`` of the features.
        block : ndarray of shape (stop - start, n_features)
            Those rows, float64.
        """
        self.passes += 1
        step = _rows_per_chunk(self.n_features, chunk_bytes)
        stop = 0
        for start, chunk in self._raw_chunks():
            self._check_block(chunk, start)
            for offset in range(0, chunk.shape[0], step):
                part = chunk[offset : offset + step]
                stop = start + offset + part.shape[0]
                yield start + offset, stop, np.ascontiguousarray(part, np.float64)
            chunk = part = None  # before the next stored chunk is read
        self._end_pass(stop)

    def device_blocks(self, chunk_bytes=CHUNK_BYTES):
        """Yield ``(start, stop, block)``: every row once, as float64 tensors.

        The torch counterpart of :meth:`blocks`, for a source with a
        ``device``: a tensor source's rows are sliced where they are (a CUDA
        tensor never visits the host), host rows are copied to the device
        block by block (through pinned memory, without blocking, on CUDA).
        Every block is checked finite on the device.

        Parameters
        ----------
        chunk_bytes : int, default=64 MiB
            Largest float64 block.

        Yields
        ------
        start, stop : int
            Rows ``start:stop`` of the features.
        block : torch.Tensor of shape (stop - start, n_features)
            Those rows, float64, on ``device``.
        """
        from ._torch import device_row_blocks

        yield from device_row_blocks(self, chunk_bytes)

    def _end_pass(self, stop):
        """Count an iterable's rows on its first pass; check them on later ones."""
        if self.n_samples is None:
            self.n_samples = stop
        elif stop != self.n_samples:
            raise ValueError(
                f"{self.name} gave {stop} rows in this pass, but {self.n_samples} "
                "were expected (as many as the target has, and the same on every "
                "pass)."
            )

    def peek_max_abs(self):
        """Largest magnitude of the first rows (:meth:`peek`), on ``device``.

        Returns
        -------
        largest : float
            ``max |x|`` over the first rows (0.0 when they are all zero).
        """
        if self.device is not None and self.kind == "torch":
            from ._torch import device_max_abs_of

            step = _rows_per_chunk(self.n_features, CHUNK_BYTES)
            first = self.data[:step].detach()
            self._check_layout(first, 0)
            return device_max_abs_of(self, first)
        block = self.peek()
        return float(max(np.max(block), -np.min(block))) if block.size else 0.0

    def rows(self, index):
        """Chosen rows as a float64 array (sources with random access only).

        Parameters
        ----------
        index : slice or array-like of int
            Rows to read; an index array is read in ascending order and
            returned in the order given.

        Returns
        -------
        rows : ndarray of shape (n_rows, n_features)
            Those rows, float64, checked finite.
        """
        if not self.random_access:
            raise ValueError(
                f"{self.name} are an iterable of chunks, which can only be read in "
                "order; this computation needs chosen rows. Pass an array, a "
                "numpy.memmap or a Dask array."
            )
        if isinstance(index, slice):
            out = np.ascontiguousarray(self._read(index), dtype=np.float64)
            self._check_block(out, index.indices(self.n_samples)[0])
            return out
        index = np.asarray(index, dtype=np.intp).ravel()
        if index.size == 0:
            return np.empty((0, self.n_features))
        # The distinct rows in ascending order, read in bounded chunks straight
        # into the float64 result (the peak: the result and one chunk), each
        # chunk checked with the rows' own numbers; then the order given.
        uniq, inverse = np.unique(index, return_inverse=True)
        out = np.empty((uniq.size, self.n_features))
        step = _rows_per_chunk(self.n_features, CHUNK_BYTES)
        for a in range(0, uniq.size, step):
            part = self._read(uniq[a : a + step])
            self._check_layout(part, int(uniq[a]))
            if part.dtype.kind == "f" and not np.isfinite(part).all():
                bad = np.flatnonzero(~np.isfinite(part).all(axis=1))[0]
                self._raise_not_finite(int(uniq[a + bad]))
            out[a : a + step] = part
        return out if np.array_equal(uniq, index) else out[inverse]

    def _read(self, index):
        if self.kind == "dask":
            return np.asarray(self.data[index].compute())
        if self.kind == "torch":
            if not isinstance(index, slice):
                import torch

                index = torch.as_tensor(index, device=self.data.device)
            return self.data[index].detach().to("cpu").numpy()
        return np.asarray(self.data[index])

    def peek(self, chunk_bytes=CHUNK_BYTES):
        """The first rows (at most ``chunk_bytes`` of float64), without a pass.

        What a one-pass score reads to fix its numerical scale up front: a
        generator's first chunk is kept and still given to the pass after it.

        Parameters
        ----------
        chunk_bytes : int, default=64 MiB
            Largest float64 block returned.

        Returns
        -------
        block : ndarray of shape (n_rows, n_features)
            The first rows, float64.
        """
        step = _rows_per_chunk(self.n_features, chunk_bytes)
        if self.kind == "iterable":
            if self._one_shot:
                if self._first is None:
                    raise ValueError(f"{self.name}: the generator was read already.")
                first = _chunk_array(self._first)
            else:
                it = self.data() if callable(self.data) else self.data
                first = _chunk_array(next(iter(it)))
            block = np.ascontiguousarray(first[:step], np.float64)
        else:
            block = self.rows(slice(0, min(step, self.n_samples)))
        self._check_block(block, 0)
        return block

    def to_array(self):
        """All rows as one float64 ndarray, for a caller that knows they are few.

        A score whose in-memory path is cheaper for ``N ≤ d`` (an N × N kernel)
        reads the rows whole: they take no more memory than the d × d Gram
        matrix the streaming path would.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The features, float64.
        """
        parts = [block for _, _, block in self.blocks()]
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def __getitem__(self, key):
        if isinstance(key, tuple):
            rows, cols = key
            return self.rows(rows)[:, cols]
        if isinstance(key, numbers.Integral):
            return self.rows(slice(key, key + 1 or None))[0]
        return self.rows(key)


def _chunk_array(chunk, keep_tensors=False):
    if is_tensor(chunk):
        chunk = chunk.detach()
        return chunk if keep_tensors else chunk.to("cpu").numpy()
    if is_dask(chunk):
        return np.asarray(chunk.compute())
    chunk = np.asarray(chunk)
    if chunk.ndim == 1:
        raise ValueError(
            f"every chunk of features must be 2-D (rows × features); got a 1-D "
            f"chunk of {chunk.shape[0]} values."
        )
    return chunk


def as_feature_source(
    X, *, n_samples=None, name="features", device=None, precision="auto"
):
    """Wrap out-of-core features as a :class:`FeatureSource` (validated lazily).

    Parameters
    ----------
    X : Dask array, zarr array, HDF5 dataset, torch tensor, iterable or callable
        The features. An iterable yields 2-D row chunks (NumPy arrays, tensors,
        Dask arrays) with the same number of columns; a callable returns such
        an iterable afresh for every pass; a generator can be read once. A
        :class:`FeatureSource` is returned unchanged (a copy of it on
        ``device`` when one is given). With a ``device``, an in-memory array
        or ``numpy.memmap`` is wrapped too.
    n_samples : int, default=None
        Expected number of rows (the length of ``y``): checked on every pass.
        An iterable's rows are otherwise counted by its first pass.
    name : str, default="features"
        Name in error messages.
    device : {"cpu", "cuda", "auto"} or str, default=None
        Where the scores' passes over the rows run. None: NumPy on the host,
        except for a tensor off the CPU, whose passes run on its own device
        (it is never copied to the host). ``"auto"``: CUDA when available,
        else the CPU; ``"cpu"``, ``"cuda"`` (or ``"cuda:1"``): that torch
        device. Host rows are moved there block by block.
    precision : {"auto", "float64", "float32"}, default="auto"
        Element type of the O(N·d²) products on ``device`` (sums and the
        statistics are float64 always). ``"auto"``: float32 on a CUDA device
        named by ``device`` (TF32 off, each block centred on a shift, block
        results summed in float64), float64 otherwise -- on the CPU, and for
        a CUDA tensor with ``device=None``, which keeps NumPy's precision.

    Returns
    -------
    source : FeatureSource
        The wrapped features.

    Raises
    ------
    ValueError
        If ``X`` is not 2-D, is empty, or its chunks disagree on the columns;
        if ``device`` is not a torch device, or is CUDA on a machine without.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.utils import as_feature_source
    >>> source = as_feature_source(lambda: (np.full((2, 3), i) for i in range(4)))
    >>> source.shape  # counted by a first pass
    (8, 3)
    >>> as_feature_source(np.ones((5, 2)), device="cpu")
    FeatureSource(array, 5 x 2, float64, on cpu)
    """
    if precision not in ("auto", "float64", "float32"):
        raise ValueError(
            f"precision must be 'auto', 'float64' or 'float32'; got {precision!r}."
        )
    if isinstance(X, FeatureSource):
        if device is not None:
            X = copy.copy(X)
            X.device, X.pass_dtype = _resolve_pass(device, precision)
        if n_samples is not None and X.n_samples is None:
            X.n_samples = int(n_samples)
        _check_rows(X, n_samples)
        return X
    counted = ""
    in_memory = isinstance(X, np.ndarray) and device is not None
    if is_dask(X) or _is_sliceable_array(X) or is_tensor(X) or in_memory:
        kind = "dask" if is_dask(X) else "torch" if is_tensor(X) else "array"
        if len(X.shape) != 2:
            raise ValueError(
                f"{name} must be 2-D (samples × features); got shape {X.shape}."
            )
        if kind == "dask":
            if any(np.isnan(c) for c in X.chunks[0]):
                # Unknown row counts (boolean indexing, a DataFrame's
                # to_dask_array()): one pass that computes only the counts.
                X = X.compute_chunk_sizes()
            X = X.rechunk({1: -1})
        n, d = (int(s) for s in X.shape)
        if n == 0 or d == 0:
            raise ValueError(f"{name} are empty (shape {(n, d)}).")
        source = FeatureSource(X, kind, n, d, _numpy_dtype(X), name)
    elif _is_chunk_iterable(X):
        it = X() if callable(X) else X
        if isinstance(X, Iterator):
            first = next(X, None)
        else:
            first = next(iter(it), None)
        if first is None:
            raise ValueError(f"{name} are an empty iterable: no chunk of rows.")
        first = _chunk_array(first, keep_tensors=True)
        if first.ndim != 2:
            raise ValueError(
                f"every chunk of {name} must be 2-D (rows × features); got a "
                f"chunk of shape {tuple(first.shape)}."
            )
        rows = None
        if isinstance(X, (list, tuple)):  # counted from the shapes, no pass
            rows = 0
            for k, c in enumerate(X):
                if c.ndim != 2 or c.shape[1] != first.shape[1]:
                    raise ValueError(
                        f"every chunk of {name} must be 2-D (rows × features) "
                        f"with {first.shape[1]} columns; chunk {k} (from row "
                        f"{rows}) has shape {tuple(c.shape)}."
                    )
                rows += int(c.shape[0])
            counted = f" (the total of their {len(X)} chunks)"
        source = FeatureSource(
            X, "iterable", rows, first.shape[1], _numpy_dtype(first), name
        )
        if isinstance(X, Iterator):
            source._first = first
    else:
        raise ValueError(
            f"{name} of type {type(X).__name__} are not out-of-core features; "
            "pass an array, a Dask array, or an iterable of 2-D chunks."
        )
    if device is not None or is_device_tensor(X):
        source.device, source.pass_dtype = _resolve_pass(
            device, precision, tensor=X if is_tensor(X) else None
        )
    if source.n_samples is None and n_samples is None and not source._one_shot:
        _count_rows(source)
        source.passes = 0
    _check_rows(source, n_samples, counted)
    if n_samples is not None:
        source.n_samples = int(n_samples)
    return source


def _check_rows(source, n_samples, counted=""):
    """Refuse a known number of rows other than the ``n_samples`` expected.

    ``counted`` says how the rows were counted, for the message.
    """
    if n_samples is None or source.n_samples is None:
        return
    if source.n_samples != int(n_samples):
        raise ValueError(
            f"{source.name} have {source.n_samples} rows{counted}, but "
            f"{int(n_samples)} were expected (as many as the target has): they "
            "must describe the same samples, one row each."
        )


def _resolve_pass(device, precision, tensor=None):
    """``(torch.device, pass dtype)`` of the passes for a ``device`` parameter."""
    from ._torch import resolve_device

    if device is None:  # a tensor off the CPU: its own device, NumPy's precision
        return tensor.device, "float64" if precision == "auto" else precision
    if not isinstance(device, str) and type(device).__name__ != "device":
        raise ValueError(
            "device must be None, 'cpu', 'cuda' or 'auto' (or a torch device "
            f"name such as 'cuda:1'); got {device!r}."
        )
    try:
        resolved = resolve_device(device)
    except RuntimeError as exc:  # torch.device("gpu"): not a device name
        raise ValueError(
            "device must be None, 'cpu', 'cuda' or 'auto' (or a torch device "
            f"name such as 'cuda:1'); got {device!r}."
        ) from exc
    if precision == "auto":
        precision = "float32" if resolved.type == "cuda" else "float64"
    return resolved, precision


def _count_rows(source):
    """Count an iterable's rows by one pass, every chunk checked.

    With a device the chunks are only counted and their layouts checked (a
    tensor chunk is not copied to the host to be checked finite; the passes
    check it on the device).
    """
    if source.device is None:
        for _ in source.blocks():
            pass
        return
    stop = 0
    for start, chunk in source._raw_chunks(keep_tensors=True):
        source._check_layout(chunk, start)
        stop = start + chunk.shape[0]
    source._end_pass(stop)


# --------------------------------------------------------------------------- #
# Reductions
# --------------------------------------------------------------------------- #
def add_statistics(a, b):
    """Sum two per-block results: arrays, numbers, tuples/lists of them, None."""
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, (tuple, list)):
        return type(a)(add_statistics(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return {k: add_statistics(a[k], b[k]) for k in a}
    return a + b


def _slice_rows(a, start, stop):
    return None if a is None else a[start:stop]


def _block_statistics(fn, combine, chunk, start, chunk_bytes, name, n_features, args):
    """``Σ fn(block, *args[rows])`` over float64 blocks of one stored chunk."""
    chunk = np.asarray(chunk)
    source = FeatureSource(None, "array", chunk.shape[0], n_features, chunk.dtype, name)
    source._check_block(chunk, start)
    step = _rows_per_chunk(n_features, chunk_bytes)
    total = None
    for offset in range(0, chunk.shape[0], step):
        block = np.ascontiguousarray(chunk[offset : offset + step], np.float64)
        rows = [_slice_rows(a, offset, offset + block.shape[0]) for a in args]
        part = fn(block, *rows)
        total = part if total is None else combine(total, part)
    return total


def iter_blocks(X, chunk_bytes=CHUNK_BYTES):
    """``(start, stop, float64 block)`` of an ndarray or a :class:`FeatureSource`."""
    if isinstance(X, FeatureSource):
        yield from X.blocks(chunk_bytes)
        return
    n, d = X.shape
    step = _rows_per_chunk(d, chunk_bytes)
    for start in range(0, n, step):
        stop = min(n, start + step)
        yield start, stop, np.ascontiguousarray(X[start:stop], dtype=np.float64)


def reduce_blocks(
    X, fn: Callable, *row_args, combine=add_statistics, chunk_bytes=CHUNK_BYTES
):
    """``Σ_blocks fn(block, *[a[rows] for a in row_args])`` over the rows of ``X``.

    ``fn`` maps a float64 block of rows (and the matching rows of each
    row-aligned argument: labels, targets, weights; ``None`` passes through)
    to statistics -- an array, a number, or a tuple of them -- that add up over
    blocks. For a Dask-array source every stored block becomes one task on the
    active scheduler (a ``dask.distributed`` client's workers when one is
    active), and the per-block statistics are summed in a tree of tasks there:
    only the final sum reaches the caller. ``fn`` must then be picklable (a
    module-level function or a ``functools.partial`` of one).

    Parameters
    ----------
    X : ndarray or FeatureSource
        Features.
    fn : callable
        ``fn(block, *rows) -> statistics``.
    *row_args : array-like or None
        Arrays with one row per sample, sliced with the block.
    combine : callable, default=add_statistics
        Associative combination of two blocks' statistics (a sum by default;
        e.g. ``max``).
    chunk_bytes : int, default=64 MiB
        Largest float64 block.

    Returns
    -------
    statistics : object
        The sum of ``fn`` over all blocks.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.utils._source import reduce_blocks
    >>> X = np.arange(6.0).reshape(3, 2)
    >>> reduce_blocks(X, lambda block: block.sum(axis=0))
    array([6., 9.])
    """
    if isinstance(X, FeatureSource) and X.distributed:
        return _reduce_dask(X, fn, row_args, combine, chunk_bytes)
    total = None
    for start, stop, block in iter_blocks(X, chunk_bytes):
        rows = [_slice_rows(a, start, stop) for a in row_args]
        part = fn(block, *rows)
        del block  # before the next block is read: one block alive, not two
        total = part if total is None else combine(total, part)
        del part  # and one block's statistics beside the total, not two
    return total


def _reduce_dask(source, fn, row_args, combine, chunk_bytes):
    import dask

    X = source.data
    source.passes += 1
    bounds = np.concatenate([[0], np.cumsum(X.chunks[0])]).astype(np.int64)
    if bounds[-1] != source.n_samples:
        raise ValueError(
            f"{source.name} have {bounds[-1]} rows but {source.n_samples} were "
            "expected."
        )
    task = dask.delayed(_block_statistics, pure=True)
    # fn as one key of the graph: the constants it carries (a score's weights,
    # up to d × G·C floats) reach each worker once, not once per block's task.
    fn = dask.delayed(fn, pure=True)
    parts = []
    for i, block in enumerate(X.to_delayed().ravel()):
        start, stop = int(bounds[i]), int(bounds[i + 1])
        args = [_slice_rows(a, start, stop) for a in row_args]
        parts.append(
            task(
                fn,
                combine,
                block,
                start,
                chunk_bytes,
                source.name,
                source.n_features,
                args,
            )
        )
    add = dask.delayed(combine, pure=True)
    while len(parts) > 1:
        parts = [
            add(parts[j], parts[j + 1]) if j + 1 < len(parts) else parts[j]
            for j in range(0, len(parts), 2)
        ]
    (total,) = dask.compute(parts[0])
    return total


# --------------------------------------------------------------------------- #
# Sub-sampling, for the scores that need every sample at once
# --------------------------------------------------------------------------- #
def subsample(X, y, n_samples, *, stratify=True, random_state=0):
    """A random subset of the rows of ``(X, y)``, read without loading ``X`` whole.

    For the scores that need every sample in memory at once (the kNN probe's
    neighbour graph, NLEEP's Gaussian mixture, PARC's N × N correlations):
    their error on out-of-core features points here. Rows are drawn without
    replacement, stratified by class when ``y`` holds classes (every class keeps
    a share proportional to its size, and at least one row when ``n_samples``
    allows), and returned in their original order. Only the chosen rows are
    read (one ordered pass for an iterable of chunks).

    Parameters
    ----------
    X : array-like, numpy.memmap or out-of-core features
        Features (anything :func:`as_feature_source` takes, or an array).
    y : array-like of shape (n_total,) or (n_total, n_targets)
        Target of every row.
    n_samples : int
        Rows to draw (all rows when ``n_samples`` is at least their number).
    stratify : bool, default=True
        Draw proportionally per class (1-D ``y`` only).
    random_state : int, RandomState instance or None, default=0
        Seed of the draw.

    Returns
    -------
    X_sub : ndarray of shape (n_samples, n_features)
        The chosen rows (float64 for out-of-core input, the input dtype for an
        array).
    y_sub : ndarray
        Their targets.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.utils import subsample
    >>> X = np.arange(20.0).reshape(10, 2)
    >>> y = np.array([0] * 5 + [1] * 5)
    >>> X_sub, y_sub = subsample(X, y, 4)
    >>> np.bincount(y_sub)
    array([2, 2])
    """
    from sklearn.utils import check_random_state

    y = np.asarray(y.compute() if is_dask(y) else y)
    n = y.shape[0]
    if not isinstance(n_samples, numbers.Integral) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer; got {n_samples!r}.")
    rng = check_random_state(random_state)
    if n_samples >= n:
        index = np.arange(n)
    elif stratify and y.ndim == 1 and y.dtype.kind in "iubOUS":
        classes, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
        share = counts * (n_samples / n)
        take = np.floor(share).astype(np.intp)
        take = np.maximum(take, np.minimum(1, counts))
        extra = n_samples - take.sum()
        if extra > 0:
            order = np.argsort(-(share - np.floor(share)), kind="stable")
            for c in order:
                if extra == 0:
                    break
                if take[c] < counts[c]:
                    take[c] += 1
                    extra -= 1
        picks = [
            rng.choice(np.flatnonzero(codes == c), size=int(k), replace=False)
            for c, k in enumerate(take)
        ]
        index = np.sort(np.concatenate(picks))
    else:
        index = np.sort(rng.choice(n, size=int(n_samples), replace=False))
    if is_out_of_core(X):
        X_sub = take_rows(as_feature_source(X, n_samples=n), index)
    else:
        X_sub = np.asarray(X)[index]
    return X_sub, y[index]


def take_rows(X, index):
    """The rows ``X[index]`` of a :class:`FeatureSource` as one float64 array.

    ``index`` is sorted and unique. A source with random access reads only
    those rows; an iterable of chunks is read once, in order, keeping them.
    """
    if X.random_access:
        return X.rows(index)
    parts = []
    for start, stop, block in X.blocks():
        lo, hi = np.searchsorted(index, [start, stop])
        parts.append(block[index[lo:hi] - start])
        del block  # before the next block is read
    return np.concatenate(parts)
