"""Linear algebra shared by the transferability methods.

One home for the computations several metrics need -- Gram matrices accumulated in
float64 chunk by chunk (so float32 or memory-mapped features are never copied whole;
for a :class:`~skdisco.utils.FeatureSource` with a torch ``device`` the passes
over the rows run there, in :mod:`skdisco.utils._torch`),
one-hot cross products, class statistics, and the tridiagonal spectral system that
evaluates ridge-type quadratic forms for many shifts at O(d) cost each. A metric
module imports from here instead of re-deriving any of it.
"""

from __future__ import annotations

import mmap
import operator
import warnings
from functools import partial

import numpy as np
import scipy.sparse as sp
from scipy.linalg import eigh as scipy_eigh
from scipy.linalg import lapack
from scipy.linalg.blas import dgemm, dsyrk

from ..utils._source import (
    FeatureSource,
    _rows_per_chunk,
    _slice_rows,
    add_statistics,
    as_feature_source,
    iter_blocks,
    reduce_blocks,
)
from ..utils._warnings import user_stacklevel

# Rows of features converted to float64 at a time when the input is not already
# a float64 C-contiguous array (bounds the extra memory to ~64 MiB).
_CHUNK_BYTES = 64 * 2**20
# Rows transformed at a time (centred, or centred on their class means) when the
# result is a fresh array: a loop holds two such blocks at once.
_TRANSFORM_CHUNK_BYTES = _CHUNK_BYTES // 4


def iter_float64_chunks(X, chunk_bytes=_CHUNK_BYTES):
    """Yield ``(start, stop, block)`` with ``block = X[start:stop]`` as float64.

    A float64 C-contiguous ndarray is yielded whole, without a copy; anything else
    (float32, Fortran order, ``np.memmap``) is converted one block of rows at a
    time so peak extra memory stays near ``chunk_bytes``.
    """
    if isinstance(X, FeatureSource):
        yield from X.blocks(chunk_bytes)
        return
    n, d = X.shape
    if isinstance(X, np.ndarray) and X.dtype == np.float64 and X.flags.c_contiguous:
        yield 0, n, X
        return
    rows = max(1, int(chunk_bytes // (8 * max(d, 1))))
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        yield start, stop, np.ascontiguousarray(X[start:stop], dtype=np.float64)


def row_sq_norms(X, mean):
    """``‖x_i - mean‖²`` of every row in float64, a bounded chunk of rows at a time."""
    if _on_device(X):
        from ..utils._torch import device_row_sq_norms

        return device_row_sq_norms(X, mean, chunk_bytes=_TRANSFORM_CHUNK_BYTES)
    return row_values(X, partial(_row_sq_norm_block, mean=mean))


def _row_sq_norm_block(block, *, mean):
    Z = block - mean if np.any(mean) else block
    return np.einsum("ij,ij->i", Z, Z)


def row_values(X, fn, *row_args, chunk_bytes=_TRANSFORM_CHUNK_BYTES):
    """Per-row values ``fn(block, *rows)`` of every row, in row order.

    ``fn`` maps a float64 block of rows (and the matching rows of each
    row-aligned argument) to an array with one entry (or one row) per row of
    the block: posteriors of the true class, energies, squared norms. O(N)
    values are kept, never an N × d copy. For a Dask-array source every
    stored block is one task on the scheduler's workers (``fn`` must be
    picklable: a module-level function or a ``functools.partial`` of one) and
    only the values come back.

    Returns
    -------
    values : ndarray of shape (n_samples, ...)
        The values, float64.
    """
    if _distributed(X):
        parts = reduce_blocks(
            X,
            partial(_listed, fn),
            *row_args,
            combine=operator.add,
            chunk_bytes=chunk_bytes,
        )
        return np.concatenate(parts)
    if X.shape[0] is None:  # a generator's rows are counted as they come
        parts = [
            fn(block, *[None if a is None else a[start:stop] for a in row_args])
            for start, stop, block in iter_row_blocks(X, chunk_bytes=chunk_bytes)
        ]
        return np.concatenate(parts).astype(np.float64, copy=False)
    out = None
    for start, stop, block in iter_row_blocks(X, chunk_bytes=chunk_bytes):
        part = fn(block, *[None if a is None else a[start:stop] for a in row_args])
        del block  # before the next block is read: one block alive, not two
        if out is None:
            out = np.empty((X.shape[0], *np.shape(part)[1:]), dtype=np.float64)
        out[start:stop] = part
    return out


def _listed(fn, block, *rows):
    """``[fn(block, *rows)]``: per-block values that ``operator.add`` concatenates."""
    return [fn(block, *rows)]


def iter_centered_chunks(X, mean, chunk_bytes=_TRANSFORM_CHUNK_BYTES):
    """Yield ``(start, stop, X[start:stop] - mean)`` in float64, a bounded copy each.

    :func:`iter_row_blocks` with the centring as its row map: the subtraction is
    done on at most ``chunk_bytes`` of rows at a time, so a float64 input is
    never copied whole (a loop over the chunks that does not ``del`` its chunk
    before the next iteration holds two at once: the one it used while the next
    is made). A zero ``mean`` yields the rows as
    :func:`iter_float64_chunks` does: a float64 C-contiguous input whole, without
    a copy (one ``dsyrk`` over all rows is faster than one per chunk).
    """
    if not np.any(mean):
        return iter_float64_chunks(X, chunk_bytes)
    if isinstance(X, np.ndarray) and X.dtype != np.float64:
        # Every block is a fresh float64 conversion (a float32 memmap): centred
        # in place, so one chunk is alive, not the conversion and its copy.
        return iter_row_blocks(X, partial(_subtract_in_place, mean=mean), chunk_bytes)
    return iter_row_blocks(X, lambda start, stop, block: block - mean, chunk_bytes)


def _subtract_in_place(start, stop, block, *, mean):
    return np.subtract(block, mean, out=block)


def onehot(y, n_classes, dtype=np.float64):
    """Sparse one-hot matrix of shape (n_samples, n_classes) for encoded labels."""
    n = y.shape[0]
    return sp.csr_matrix(
        (np.ones(n, dtype=dtype), (np.arange(n), y)), shape=(n, n_classes)
    )


def targets_matrix(y, n_classes=None):
    """Return the target matrix a ridge-type method regresses on.

    Encoded class labels (1-D ints with ``n_classes``) become a sparse one-hot
    matrix; a float (N, K) array is returned unchanged.
    """
    if n_classes is not None:
        return onehot(y, n_classes)
    return y


def _cross(block_t, Y_block):
    """``block_t @ Y_block`` for dense or sparse ``Y_block`` as a dense array."""
    if sp.issparse(Y_block):
        return np.asarray((Y_block.T @ block_t.T).T)
    return block_t @ Y_block


def gram_statistics(
    X, Y=None, *, chunk_bytes=_CHUNK_BYTES, lower_only=False, scale=1.0
):
    """Accumulate ``G = XᵀX`` (d × d) and ``B = XᵀY`` (d × K) in float64.

    Parameters
    ----------
    X : ndarray of shape (n_samples, d)
        Features, any float dtype; converted chunk by chunk.
    Y : ndarray or sparse matrix of shape (n_samples, K), default=None
        Targets (dense, or a sparse one-hot matrix from :func:`onehot`).
    lower_only : bool, default=False
        Return ``G`` Fortran-ordered with only its lower triangle filled -- what
        LAPACK's symmetric routines read -- saving a d × d copy.
    scale : float, default=1.0
        Multiply each chunk of ``X`` by this before the products (a power of two
        keeps it exact): the statistics of ``scale · X``, for features whose
        Gram matrix would overflow or underflow.

    Returns
    -------
    G : ndarray of shape (d, d)
        Symmetric Gram matrix (both triangles filled unless ``lower_only``).
    B : ndarray of shape (d, K) or None
        Cross products with the targets.
    """
    d = X.shape[1]
    if _on_device(X):
        from ..utils._torch import device_gram_statistics

        G, B = device_gram_statistics(X, Y, scale=scale, chunk_bytes=chunk_bytes)
        check_finite_statistics(G, X)
        return (np.asfortranarray(G), B) if lower_only else (G, B)
    if _distributed(X):
        G, B = reduce_blocks(
            X, partial(_gram_block, scale=scale), Y, chunk_bytes=chunk_bytes
        )
        G = np.asfortranarray(G)
        check_finite_statistics(G, X)
        return (G, B) if lower_only else (symmetrize_upper(G.T), B)
    G = np.zeros((d, d), dtype=np.float64, order="F")
    B = None if Y is None else np.zeros((d, Y.shape[1]), dtype=np.float64)
    for start, stop, block in iter_float64_chunks(X, chunk_bytes):
        if scale != 1.0:
            block = block * scale
        # block.T is F-contiguous: syrk reads it in place and updates G's lower part.
        G = dsyrk(1.0, block.T, beta=1.0, c=G, trans=0, lower=1, overwrite_c=1)
        if B is not None:
            B += _cross(block.T, Y[start:stop])
        del block  # before the next block is read: one block alive, not two
    if isinstance(X, FeatureSource):
        check_finite_statistics(G, X)
    if lower_only:
        return G, B
    # G's lower triangle, read as its transpose, is an upper triangle.
    return symmetrize_upper(G.T), B


def check_finite_statistics(G, X):
    """Raise a ValueError when out-of-core features overflowed their Gram matrix.

    Their scale is fixed from the first rows (:func:`magnitude_scale`); rows
    far larger further on make squares that overflow float64.
    """
    if not np.isfinite(G).all():
        raise ValueError(
            f"{getattr(X, 'name', 'features')} overflow float64 when squared: "
            "rows far larger than the first ones (beyond 2^256 in magnitude); "
            "rescale them (e.g. divide by their largest value)."
        )


def _distributed(X):
    """Whether ``X``'s passes run as tasks on Dask workers (a Dask-array source)."""
    return isinstance(X, FeatureSource) and X.distributed


def _on_device(X):
    """Whether ``X``'s passes run in torch on a device (a source with a device).

    Checked before :func:`_distributed`: a Dask source given a device has its
    blocks computed by the scheduler and reduced on this process's device.
    """
    return isinstance(X, FeatureSource) and X.device is not None


def _gram_block(block, Y_block, *, scale=1.0):
    """One block's ``(lower triangle of BᵀB, BᵀY)``: the task of a Dask pass."""
    if scale != 1.0:
        block = block * scale
    G = dsyrk(1.0, block.T, trans=0, lower=1)
    return G, None if Y_block is None else _cross(block.T, Y_block)


def is_streamed(X):
    """Whether ``X`` is read in passes over row blocks: out of core or a memmap.

    Such features are never copied whole; the scores read them in as few
    passes as their maths allows (e.g. :class:`CenteredSpectrum` with
    ``labels`` takes the mean from the class sums' pass).
    """
    if isinstance(X, FeatureSource):
        return True
    # check_features returns a memmap as an ndarray view: look at what it views.
    while isinstance(X, np.ndarray):
        if isinstance(X, np.memmap):
            return True
        X = X.base
    return isinstance(X, mmap.mmap)


def small_source_to_array(X):
    """Out-of-core features with ``N ≤ d`` as one float64 array, else ``X``.

    The paths for few samples work with the N × N kernel and the rows whole;
    those rows take no more memory than the d × d Gram of the streaming path.
    """
    if isinstance(X, FeatureSource) and X.shape[0] <= X.shape[1]:
        return X.to_array()
    return X


def kernel_matrix(X, lower_only=False):
    """Return ``K = X Xᵀ`` (n × n, float64) -- the dual Gram matrix for n < d.

    ``lower_only``: only the lower triangle, Fortran-ordered (what
    :class:`Tridiagonalization` reads in place with ``overwrite_a=True``), with
    no symmetrised copy.
    """
    Xd = np.ascontiguousarray(X, dtype=np.float64)
    if lower_only:
        return dsyrk(1.0, Xd.T, trans=1, lower=1)
    K = dsyrk(1.0, Xd.T, trans=1, lower=0)
    return symmetrize_upper(K)


def symmetrize_upper(A):
    """Copy the upper triangle of a square matrix onto its lower triangle."""
    A = np.array(A, dtype=np.float64, order="C", copy=True)
    lower = np.tril_indices(A.shape[0], -1)
    A[lower] = A.T[lower]
    return A


def class_statistics(X, y, n_classes):
    """Class counts and class means of features, in float64.

    Parameters
    ----------
    X : ndarray of shape (n_samples, d)
    y : ndarray of shape (n_samples,)
        Encoded labels in ``0 .. n_classes - 1``.
    n_classes : int

    Returns
    -------
    counts : ndarray of shape (n_classes,)
    means : ndarray of shape (n_classes, d)
    """
    counts, sums = class_sums(X, y, n_classes)
    return counts, sums / counts[:, None]


def class_sums(X, y, n_classes):
    """Counts and sums of the rows of ``X`` per label, in float64, in one pass.

    A sparse one-hot matrix times each float64 chunk of rows: N·d additions,
    and besides the result no more memory than a chunk's rows (a chunk with
    fewer rows than labels is summed into the labels it holds). Labels without
    rows get a zero count and a zero sum.

    Returns
    -------
    counts : ndarray of shape (n_classes,)
    sums : ndarray of shape (n_classes, d)
    """
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    if _on_device(X):
        from ..utils._torch import device_class_sums

        return counts, device_class_sums(X, y, n_classes, chunk_bytes=_CHUNK_BYTES)
    if _distributed(X):
        return counts, reduce_blocks(
            X, partial(_class_sum_block, n_classes=n_classes), y
        )
    sums = np.zeros((n_classes, X.shape[1]), dtype=np.float64)
    for start, stop, block in iter_float64_chunks(X):
        labels = y[start:stop]
        if n_classes <= block.shape[0]:
            sums += onehot(labels, n_classes).T @ block
        else:
            # More labels than rows (DISCO's fold × class bins): sum into the
            # labels present only, so the product is no larger than the block.
            present, local = np.unique(labels, return_inverse=True)
            sums[present] += onehot(local, present.size).T @ block
        del block  # before the next block is read
    return counts, sums


def _class_sum_block(block, y_block, *, n_classes, transform=None):
    if transform is not None:
        block = transform(block)
    return onehot(y_block, n_classes).T @ block


def blas_matmul(A, B, *, out=None):
    """``A @ B`` for float64 matrices, on the BLAS that scipy's LAPACK runs on.

    The numpy and scipy wheels each ship an OpenBLAS, each with its own
    threads (scipy/scipy#15129), and a pool's threads keep spinning for a
    while after a call returns, on the cores the other pool needs: on two
    cores, five 1 000 × 2048 by 2048 × 200 numpy products right after a
    LAPACK call of scipy's (``dpotrf`` of a 1 500 × 1 500 matrix) took 0.094
    against 0.047 s without it, while scipy's ``dgemm`` took 0.047 s after it
    (one thread: 0.09 s either way). DISCO's pipeline alternates LAPACK
    (``dsytrd``, ``dstevd``, ``dormqr``) with products. The large products of
    a pipeline that also calls LAPACK go through this function, so one pool
    does all of its heavy work. Operands are passed to ``dgemm`` transposed
    where that avoids a copy (a C-ordered matrix is a Fortran-ordered
    transpose); strided operands (views of parts of rows) and other dtypes
    go to numpy, which reads them in place. Returns a C-ordered array, or
    writes into ``out`` (a Fortran-ordered float64 array of the product's
    shape).

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.transferability._linalg import blas_matmul
    >>> A = np.arange(6.0).reshape(2, 3)
    >>> blas_matmul(A, A.T)
    array([[ 5., 14.],
           [14., 50.]])
    """
    A = np.asarray(A)
    B = np.asarray(B)
    if out is not None and not (out.flags.f_contiguous and out.dtype == np.float64):
        raise ValueError("out must be a Fortran-ordered float64 array.")
    if (
        A.ndim != 2
        or B.ndim != 2
        or A.dtype != np.float64
        or B.dtype != np.float64
        or 0 in A.shape
        or 0 in B.shape
        or not (A.flags.c_contiguous or A.flags.f_contiguous)
        or not (B.flags.c_contiguous or B.flags.f_contiguous)
    ):  # numpy reads strided operands in place where dgemm would copy them
        product = A @ B
        if out is None:
            return product
        out[...] = product
        return out
    if out is not None:  # out = A B, Fortran-ordered
        a, ta = (A, 0) if A.flags.f_contiguous else (A.T, 1)
        b, tb = (B, 0) if B.flags.f_contiguous else (B.T, 1)
        res = dgemm(1.0, a, b, beta=0.0, c=out, trans_a=ta, trans_b=tb, overwrite_c=1)
        if res is not out:  # pragma: no cover - f2py copied out
            out[...] = res
        return out
    # (A B)ᵀ = Bᵀ Aᵀ, Fortran-ordered: its transpose is the C-ordered A B.
    bt, tb = (B.T, 0) if B.flags.c_contiguous else (B, 1)
    at, ta = (A.T, 0) if A.flags.c_contiguous else (A, 1)
    return dgemm(1.0, bt, at, trans_a=tb, trans_b=ta).T


class Tridiagonalization:
    """``A = Q T Qᵀ`` for symmetric ``A`` (LAPACK ``sytrd``), ``Q`` kept as reflectors.

    The reduction is the first third of a symmetric eigendecomposition; the rest is
    the eigenvectors ``W`` of ``T`` (O(n²) storage, :meth:`eigh`) and the
    back-transformation ``Q W`` (a dense d × d product). A caller that needs the
    eigenvectors only applied to a few (m < n) vectors applies ``Q`` or ``Qᵀ`` to
    those instead (:meth:`apply_q`, :meth:`apply_qt`: O(n²·m)).

    Parameters
    ----------
    A : ndarray of shape (n, n)
        Symmetric matrix; only its lower triangle is read.
    overwrite_a : bool, default=False
        Let LAPACK overwrite ``A`` (no copy when ``A`` is Fortran-ordered, as
        :func:`gram_statistics` and :func:`centered_gram` return with
        ``lower_only=True``).
    """

    def __init__(self, A, *, overwrite_a=False):
        n = A.shape[0]
        self.n = n
        if n == 1:
            self.diag = np.array([A[0, 0]], dtype=np.float64)
            self.offdiag = np.zeros(0)
            self._reflectors = None
            return
        lwork, info = lapack.dsytrd_lwork(n, lower=1)
        c, d, e, tau, info = lapack.dsytrd(
            np.asfortranarray(A), lower=1, lwork=int(lwork), overwrite_a=overwrite_a
        )
        if info != 0:  # pragma: no cover - LAPACK argument error
            raise np.linalg.LinAlgError(f"LAPACK dsytrd failed (info={info}).")
        self.diag, self.offdiag = d, e
        # Q = diag(1, Q') where Q' is the QR-type product of the reflectors stored
        # below the first sub-diagonal (LAPACK's dormtr does exactly this).
        self._reflectors = (np.asfortranarray(c[1:, : n - 1]), tau)

    def eigenvalues(self):
        """Eigenvalues of ``A`` (``sterf`` on ``T``, O(n²)), ascending."""
        if self.n == 1:
            return self.diag.copy()
        w, info = lapack.dsterf(self.diag.copy(), self.offdiag.copy())
        if info != 0:  # pragma: no cover - convergence failure of QL
            raise np.linalg.LinAlgError(f"LAPACK dsterf failed (info={info}).")
        return np.sort(w)

    def eigh(self):
        """Eigenvalues (ascending) and eigenvectors ``W`` of ``T``: ``A = QW Λ (QW)ᵀ``.

        Divide and conquer (``stevd``, the tridiagonal solver of
        ``scipy.linalg.eigh``'s driver ``"evd"``): its merges are matrix
        products (multi-threaded BLAS), where MRRR (``stemr``, the default
        driver ``"evr"``'s) runs on one thread. On an AVX-512 machine it took
        0.22 s against MRRR's 0.27 s at n = 2048 on one thread and 0.17 against
        0.28 s on two (0.007 against 0.010 s at n = 512); an earlier AVX2
        machine had it 10 % slower on one thread. Its eigenvectors are
        orthogonal to ~1e-14 where MRRR's are to ~1e-12 on the same
        matrices. It takes an n × n workspace beside ``W`` (the size of the
        matrix reduced). Where it reports a failure, MRRR is used instead.
        ``W`` is Fortran-ordered.
        """
        if self.n == 1:
            return self.diag.copy(), np.ones((1, 1), order="F")
        w, W, info = lapack.dstevd(self.diag.copy(), self.offdiag.copy(), compute_v=1)
        if info == 0:
            return w, np.asfortranarray(W)
        e = np.append(self.offdiag, 0.0)  # stemr's e has n entries
        m, w, W, info = lapack.dstemr(self.diag.copy(), e, 0, 0.0, 0.0, 0, 0)
        if info != 0 or m != self.n:  # pragma: no cover - both LAPACK solvers failed
            raise np.linalg.LinAlgError(
                f"LAPACK dstevd and dstemr failed on the tridiagonal (info={info})."
            )
        return w, W

    def _apply(self, R, trans, out):
        R = np.asarray(R, dtype=np.float64)
        if out is None:
            out = np.array(R, order="F", copy=True)
        elif not (out.flags.f_contiguous and out.dtype == np.float64):
            raise ValueError("out must be a Fortran-ordered float64 array.")
        elif out is not R:
            out[...] = R
        if self._reflectors is None or out.shape[1] == 0:
            return out
        # In pieces of at most n columns, each copied once below its first row
        # and overwritten by LAPACK: besides R and the result, one n × n
        # working array at most, however many columns R has (as fast on one
        # thread; the reflectors are read once per piece).
        for a in range(0, out.shape[1], self.n):
            b = min(a + self.n, out.shape[1])
            sub = np.array(out[1:, a:b], order="F", copy=True)
            out[1:, a:b] = self.apply_reflectors(sub, trans)
        return out

    def apply_reflectors(self, sub, trans="N"):
        """``Q' R`` or ``Q'ᵀ R`` in place, for ``Q = diag(1, Q')``.

        ``sub`` is a Fortran-ordered float64 (n - 1) × m array, the rows below
        the first of some ``R`` (``Q`` leaves the first row as it is): LAPACK
        overwrites it without a copy. For callers that form ``R`` themselves
        (its rows below the first straight into such an array) and so avoid
        the copy :meth:`apply_q` makes. Returns ``sub``.
        """
        if self._reflectors is None or sub.shape[1] == 0:
            return sub
        if not (sub.flags.f_contiguous and sub.dtype == np.float64):
            raise ValueError("sub must be a Fortran-ordered float64 array.")
        A, tau = self._reflectors
        sub, _, info = lapack.dormqr(
            "L", trans, A, tau, sub, lwork=max(sub.shape[1], 1) * 64, overwrite_c=1
        )
        if info != 0:  # pragma: no cover
            raise np.linalg.LinAlgError(f"LAPACK dormqr failed (info={info}).")
        return sub

    def apply_qt(self, R, *, out=None):
        """Return ``Qᵀ R`` (a new Fortran-ordered float64 array, or ``out``).

        ``out``, a Fortran-ordered float64 array of ``R``'s shape (``R`` itself
        for an in-place product), receives the result.
        """
        return self._apply(R, "T", out)

    def apply_q(self, R, *, out=None):
        """Return ``Q R`` (a new Fortran-ordered float64 array, or ``out``).

        ``out``, a Fortran-ordered float64 array of ``R``'s shape (``R`` itself
        for an in-place product), receives the result.
        """
        return self._apply(R, "N", out)


class TridiagonalSystem:
    """Spectrum and shifted solves of a symmetric PSD matrix ``A`` for many RHS.

    ``A = Q T Qᵀ`` with ``T`` tridiagonal (:class:`Tridiagonalization`). From it
    this object gives the eigenvalues of ``A`` (``sterf`` on ``T``, O(n²)) and, for
    each column ``r`` of a right-hand side ``R``, the quadratic forms of
    ``(A + tI)⁻¹`` at any shift ``t > 0`` through one O(n) tridiagonal solve on
    ``c = Qᵀ r``. That replaces a full eigendecomposition (whose eigenvector
    back-transformation dominates its cost) when only eigenvalues and a few
    quadratic forms are needed.

    Parameters
    ----------
    A : ndarray of shape (n, n)
        Symmetric positive semi-definite matrix (its lower triangle is read).
    R : ndarray of shape (n, K)
        Right-hand sides.
    overwrite_a : bool, default=False
        Let LAPACK overwrite ``A`` (saves a copy when ``A`` is Fortran-ordered).
    """

    def __init__(self, A, R, *, overwrite_a=False):
        tri = Tridiagonalization(A, overwrite_a=overwrite_a)
        self.diag, self.offdiag = tri.diag, tri.offdiag
        self._tri = tri
        self.C = tri.apply_qt(R)  # a copy of R when n == 1 (Q = I)
        # A is PSD: round-off negatives are zeros.
        self.eigenvalues = np.clip(tri.eigenvalues()[::-1], 0.0, None)

    def apply_qt(self, R):
        """Return ``Qᵀ R``."""
        return self._tri.apply_qt(R)

    def apply_q(self, R):
        """Return ``Q R``."""
        return self._tri.apply_q(R)

    def solve(self, k, shift):
        """Return ``(T + shift·I)⁻¹ c_k`` for column ``k`` of ``C = Qᵀ R``."""
        d = self.diag + shift
        if d.shape[0] == 1:
            return self.C[:, k] / d
        e = self.offdiag
        # dgtsv (partial pivoting) stays well defined even where round-off makes
        # T + shift·I slightly indefinite, unlike a Cholesky-based dptsv.
        _, _, _, x, info = lapack.dgtsv(e.copy(), d, e.copy(), self.C[:, k : k + 1])
        if info != 0:
            raise np.linalg.LinAlgError(
                "The shifted Gram matrix is singular to working precision."
            )
        return x[:, 0]

    def solve_columns(self, shift, R=None):
        """Return ``(T + shift·I)⁻¹ R`` for every column of ``R`` (default ``C``).

        One LDLᵀ factorisation (``pttrf``) shared by all columns, the O(n)-per-
        column solve of a positive definite tridiagonal; where round-off makes
        ``T + shift·I`` indefinite, partial pivoting (``gtsv``) instead.
        """
        R = self.C if R is None else R
        R = np.asfortranarray(R, dtype=np.float64)
        if self.diag.shape[0] == 1:
            return R / (self.diag[0] + shift)
        d, e, info = lapack.dpttrf(self.diag + shift, self.offdiag)
        if info == 0:
            x, info = lapack.dpttrs(d, e, R)
            if info == 0:
                return x
        e = self.offdiag
        _, _, _, x, info = lapack.dgtsv(e.copy(), self.diag + shift, e.copy(), R)
        if info != 0:
            raise np.linalg.LinAlgError(
                "The shifted Gram matrix is singular to working precision."
            )
        return x

    def solve_shifted(self, shifts, R):
        """Return ``X`` with ``X[:, j] = (T + shifts[j]·I)⁻¹ R[:, j]``: one solve.

        The m systems, each with its own shift, are stacked into one
        block-diagonal tridiagonal system of size n·m (the couplings between
        blocks are zero), so a single ``pttrf``/``pttrs`` pair solves them all in
        O(n·m). A zero coupling makes the factorisation of each block exactly
        what it is on its own: the result equals m calls of
        :meth:`solve_columns`, bit for bit. Where round-off makes some shifted
        block indefinite, each column is solved on its own instead (with
        :meth:`solve_columns`' partial-pivoting fallback).
        """
        shifts = np.asarray(shifts, dtype=np.float64)
        R = np.asarray(R, dtype=np.float64)
        n, m = R.shape
        if m == 0:
            return np.zeros((n, 0), order="F")
        if n == 1:
            return R / (self.diag[0] + shifts)
        d = (self.diag[:, None] + shifts[None, :]).ravel(order="F")
        e = np.zeros((n, m))
        e[:-1] = self.offdiag[:, None]
        d, e, info = lapack.dpttrf(d, e.ravel(order="F")[:-1])
        if info == 0:
            x, info = lapack.dpttrs(d, e, R.ravel(order="F"))
            if info == 0:
                return x.reshape((n, m), order="F")
        return np.column_stack(
            [self.solve_columns(t, R[:, j : j + 1])[:, 0] for j, t in enumerate(shifts)]
        )


class DiagonalSystem(TridiagonalSystem):
    """:class:`TridiagonalSystem` of a diagonal matrix ``A = diag(a)``: ``Q = I``.

    For designs whose Gram matrix is already diagonal (orthogonal columns, e.g.
    coordinates in an eigenbasis), so LogME's evidence machinery runs without a
    tridiagonal reduction. ``a`` must be in descending order, as the
    eigenvalues of a :class:`TridiagonalSystem` are.
    """

    def __init__(self, a, R):
        a = np.clip(np.asarray(a, dtype=np.float64), 0.0, None)
        self.diag = a
        self.offdiag = np.zeros(max(a.shape[0] - 1, 0))
        self._tri = None
        self.C = np.array(R, dtype=np.float64, order="F")
        self.eigenvalues = a

    def apply_qt(self, R):
        """Return ``R`` (``Q = I``)."""
        return np.asarray(R, dtype=np.float64)

    def apply_q(self, R):
        """Return ``R`` (``Q = I``)."""
        return np.asarray(R, dtype=np.float64)


# --- Streaming passes of the coding-rate scores (TransRate) -------------------


def unit_row_gram(X, mean):
    """``ZᵀZ`` of the rows ``z = (x - mean) / ‖x - mean‖`` and the rows left zero.

    Rows equal to ``mean`` cannot be scaled to unit norm and stay zero (their
    count is returned, for a warning). One pass (:func:`scatter_sum`); a
    Dask-array source is reduced on the workers.

    Returns
    -------
    G : ndarray of shape (d, d)
        Symmetric.
    n_zero : int
        Rows equal to ``mean``.
    """
    if _on_device(X):
        from ..utils._torch import device_unit_row_gram

        return device_unit_row_gram(X, mean, chunk_bytes=_TRANSFORM_CHUNK_BYTES)
    G, n_zero = scatter_sum(X, partial(unit_rows, mean=mean))
    return symmetrize_upper(G), int(n_zero)


def unit_rows(block, mean):
    """``(x - mean) / ‖x - mean‖`` for every row; rows equal to ``mean`` stay 0."""
    Z = block - mean
    norms = np.sqrt(np.einsum("ij,ij->i", Z, Z))
    zero = norms == 0
    norms[zero] = 1.0
    Z /= norms[:, None]
    return Z, int(zero.sum())


def centered_scatter_times(X, mean, B):
    """``(X - mean)ᵀ (X - mean) B`` (d × K) in one pass, without the d × d scatter.

    A Dask-array source is reduced on the workers.
    """
    fn = partial(_scatter_times_block, mean=mean, B=B)
    if _distributed(X):
        return reduce_blocks(X, fn, chunk_bytes=_TRANSFORM_CHUNK_BYTES)
    out = np.zeros((X.shape[1], B.shape[1]), dtype=np.float64)
    for _, _, block in iter_row_blocks(X, chunk_bytes=_TRANSFORM_CHUNK_BYTES):
        out += fn(block)
        del block  # before the next block is read
    return out


def _scatter_times_block(block, *, mean, B):
    Z = block - mean
    return Z.T @ (Z @ B)


class GramEigenvalues:
    """Accumulates the eigenvalues of ``ZᵀZ`` for rows ``Z`` given in parts.

    As :func:`gram_eigenvalues` computes them: from the n × n kernel of the
    rows (kept) when ``n ≤ d``, from the d × d Gram (accumulated, rows
    dropped) otherwise; memory O(min(n, d) · d).

    Parameters
    ----------
    n_rows, n_features : int
        Rows that will be added, and their width.
    """

    def __init__(self, n_rows, n_features):
        self._rows = [] if n_rows <= n_features else None
        self._G = None

    @staticmethod
    def cost(n_rows, n_features):
        """Bytes held: ``min(n_rows, n_features) · n_features`` float64."""
        return 8 * min(n_rows, n_features) * n_features

    def add(self, Z):
        """Add rows ``Z`` (float64)."""
        if self._rows is not None:
            self._rows.append(Z)
        elif self._G is None:
            self._G = dsyrk(1.0, Z.T, trans=0, lower=1)
        else:
            self._G = dsyrk(1.0, Z.T, beta=1.0, c=self._G, trans=0, lower=1)

    def finish(self):
        """Eigenvalues of ``ZᵀZ``, descending, ``min(n, d)`` of them."""
        if self._rows is not None:
            A = kernel_matrix(np.concatenate(self._rows), lower_only=True)
        else:
            A = self._G  # lower triangle, Fortran-ordered: what sytrd reads
        self._rows = self._G = None
        return _psd_eigenvalues(A)


def _psd_eigenvalues(A):
    """Descending eigenvalues of a PSD matrix from its lower triangle (overwritten).

    ``sytrd`` then ``sterf`` on scipy's LAPACK, as LogME and DISCO take theirs:
    no symmetrised copy (numpy's ``eigvalsh`` read one triangle of a full
    one), and on the thread pool of the ``dsyrk`` that formed ``A``. Round-off
    negatives are zeros.
    """
    w = Tridiagonalization(A, overwrite_a=True).eigenvalues()
    return np.clip(w[::-1], 0.0, None)


def class_reductions(X, y, n_classes, make, cost, *, chunk_bytes=_CHUNK_BYTES):
    """Feed each class's rows to its accumulator; return their results.

    ``make(c)`` returns an accumulator with ``add(rows)`` (float64 rows of
    class ``c``, in parts) and ``finish()``; ``cost(c)`` is the memory it
    holds, in bytes. Features with random access (arrays, ``numpy.memmap``,
    Dask, zarr, HDF5, tensors) are read one class at a time, its rows in
    blocks of at most ``chunk_bytes`` (one accumulator alive at a time).
    An iterable of chunks is read in ordered passes, each for a batch of
    classes whose accumulators hold together at most ``max(4 d², largest
    cost)`` bytes, so memory stays O(d² + chunk · d) whatever the number of
    classes.

    Returns
    -------
    results : list
        ``finish()`` of every class, in label order.
    """
    d = X.shape[1]
    counts = np.bincount(y, minlength=n_classes)
    results = [None] * n_classes
    if not isinstance(X, FeatureSource) or X.random_access:
        step = _rows_per_chunk(d, chunk_bytes)
        order = np.argsort(y, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(counts)])
        for c in range(n_classes):
            index = order[bounds[c] : bounds[c + 1]]
            acc = make(c)
            for a in range(0, index.size, step):
                part = index[a : a + step]
                if isinstance(X, FeatureSource):
                    rows = X.rows(part)
                else:
                    rows = np.ascontiguousarray(X[part], dtype=np.float64)
                acc.add(rows)
            results[c] = acc.finish()
        return results
    costs = [cost(c) for c in range(n_classes)]
    budget = max(4 * 8 * d * d, max(costs))
    batches, batch, used = [], [], 0
    for c in range(n_classes):
        if batch and used + costs[c] > budget:
            batches.append(batch)
            batch, used = [], 0
        batch.append(c)
        used += costs[c]
    batches.append(batch)
    for batch in batches:
        accs = {c: make(c) for c in batch}
        member = np.zeros(n_classes, dtype=bool)
        member[batch] = True
        for start, stop, block in X.blocks(chunk_bytes):
            yb = y[start:stop]
            for c in np.unique(yb[member[yb]]):
                accs[int(c)].add(block[yb == c])
            del block  # before the next block is read
        for c in batch:
            results[c] = accs[c].finish()
    return results


def reverse_columns(W, block=64):
    """Reverse the order of the columns of ``W`` in place and return it.

    Swaps blocks of ``block`` columns through a small buffer, so eigenvectors
    returned in ascending order become descending without an n × n copy (a
    Fortran-ordered ``W`` stays Fortran-ordered, its column slices views).
    """
    n = W.shape[1]
    half = n // 2
    for a in range(0, half, block):
        b = min(a + block, half)
        left = W[:, a:b].copy()
        W[:, a:b] = W[:, n - b : n - a][:, ::-1]
        W[:, n - b : n - a] = left[:, ::-1]
    return W


def column_mean(X):
    """Mean of the columns of ``X`` in float64, accumulated chunk by chunk."""
    if _on_device(X):
        from ..utils._torch import device_column_sums

        return device_column_sums(X, chunk_bytes=_CHUNK_BYTES) / X.shape[0]
    if _distributed(X):
        return reduce_blocks(X, _column_sum_block) / X.shape[0]
    total = np.zeros(X.shape[1], dtype=np.float64)
    for _, _, block in iter_float64_chunks(X):
        total += block.sum(axis=0)
        del block  # before the next block is read
    return total / X.shape[0]


def _column_sum_block(block):
    return block.sum(axis=0)


def _centered_gram_block(block, *, mean, fourth_powers=False):
    Z = block - mean
    G = dsyrk(1.0, Z.T, trans=0, lower=1)
    return (G, _fourth_powers(Z)) if fourth_powers else G


def _fourth_powers(Z):
    """``Σ_n ‖z_n‖⁴`` of a block of centred rows."""
    r2 = np.einsum("ij,ij->i", Z, Z)
    return float(r2 @ r2)


def centered_gram(X, mean, *, lower_only=False, fourth_powers=False):
    """Return ``(X - mean)ᵀ (X - mean)`` (d × d, float64), centring each chunk.

    ``lower_only=True`` returns it Fortran-ordered with only the lower triangle
    filled -- what LAPACK's symmetric routines read -- saving a d × d copy.
    ``fourth_powers=True`` returns ``(G, Σ_n ‖x_n - mean‖⁴)``, the second
    (Ledoit-Wolf's) from the same centred chunks: no pass of its own.
    """
    d = X.shape[1]
    if _on_device(X):
        from ..utils._torch import device_centered_gram

        G = device_centered_gram(X, mean, chunk_bytes=_CHUNK_BYTES)
        check_finite_statistics(G, X)
        G = np.asfortranarray(G) if lower_only else G
        return (G, sum_fourth_powers_of_norms(X, mean)) if fourth_powers else G
    if _distributed(X):
        out = reduce_blocks(
            X, partial(_centered_gram_block, mean=mean, fourth_powers=fourth_powers)
        )
        G, s4 = out if fourth_powers else (out, None)
        G = np.asfortranarray(G)
        G = G if lower_only else symmetrize_upper(G.T)
        return (G, float(s4)) if fourth_powers else G
    G = np.zeros((d, d), dtype=np.float64, order="F")
    s4 = 0.0
    for _, _, Bc in iter_centered_chunks(X, mean):
        G = dsyrk(1.0, Bc.T, beta=1.0, c=G, trans=0, lower=1, overwrite_c=1)
        if fourth_powers:
            s4 += _fourth_powers(Bc)
        del Bc  # before the next chunk is made: one alive, not two
    if not lower_only:
        G = symmetrize_upper(G.T)
    return (G, s4) if fourth_powers else G


def class_variances(X, y, n_classes, means, *, center=None, basis=None):
    """Per-class population variance (ddof=0) of every feature, in float64.

    ``means`` are the class means from :func:`class_statistics`; the squares are
    taken about them (two passes), so no cancellation as in ``E[x²] - E[x]²``.
    With ``center`` and ``basis`` the variances are those of the projected rows
    ``(x - center) @ basis`` (``means`` then the class means of the
    projections), computed block by block: no N × k array of projections.
    A Dask-array source is reduced on the workers.
    """
    fn = partial(
        _class_variance_block,
        means=means,
        n_classes=n_classes,
        center=center,
        basis=basis,
    )
    if _on_device(X):
        from ..utils._torch import device_class_square_sums

        sq = device_class_square_sums(
            X, y, means, center=center, basis=basis, chunk_bytes=_TRANSFORM_CHUNK_BYTES
        )
    elif _distributed(X):
        sq = reduce_blocks(X, fn, y, chunk_bytes=_TRANSFORM_CHUNK_BYTES)
    else:
        sq = np.zeros(means.shape, dtype=np.float64)
        for start, stop, block in iter_row_blocks(
            X, chunk_bytes=_TRANSFORM_CHUNK_BYTES
        ):
            sq += fn(block, y[start:stop])
            del block  # before the next block is read
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    return sq / counts[:, None]


def _class_variance_block(block, y_block, *, means, n_classes, center, basis):
    if basis is not None:
        block = (block - center) @ basis
    return onehot(y_block, n_classes).T @ ((block - means[y_block]) ** 2)


class CenteredSpectrum:
    """One eigendecomposition of the centred features, in the cheaper space.

    With ``Xc = X - mean = U Σ Vᵀ`` this holds the eigenvalues ``λ = σ²`` of the
    scatter matrix ``XcᵀXc`` (descending, ``min(N, D)`` of them) and the matching
    directions: ``V`` from the D × D scatter when ``N > D`` (primal), ``U`` from
    the N × N kernel ``Xc Xcᵀ`` otherwise (dual). Covariance-type metrics (H-score
    and its shrinkage version, Ledoit-Wolf, PCA scores) need only ``λ`` and the
    coordinates of a few vectors in the eigenbasis, which either form gives.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Features (float32 or float64; float64 inside).
    labels : tuple (y, n_classes), optional
        Encoded labels: the class statistics come from the pass that gives
        the mean (:meth:`class_statistics`).
    n_vectors : int, optional
        Keep only the ``n_vectors`` largest eigenvalues and their vectors
        (PCA scores on a few components): LAPACK's MRRR (``dsyevr``) then
        forms only those after the tridiagonal reduction, instead of every
        eigenvector and their back-transformation (the larger part of a full
        ``eigh``). None keeps all ``min(N, D)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.transferability._linalg import CenteredSpectrum
    >>> X = np.random.default_rng(0).normal(size=(50, 6))
    >>> full, top = CenteredSpectrum(X), CenteredSpectrum(X, n_vectors=2)
    >>> top.eigenvalues.shape, top.vectors.shape
    ((2,), (6, 2))
    >>> bool(np.allclose(top.eigenvalues, full.eigenvalues[:2]))
    True
    """

    def __init__(self, X, *, labels=None, n_vectors=None):
        n, d = X.shape
        self.n_samples, self.n_features = n, d
        self.dual = n <= d
        X = small_source_to_array(X)
        self._class_stats = None
        if labels is not None:
            # One pass gives the class statistics and, from them, the mean.
            y, n_classes = labels
            counts, sums = class_sums(X, y, n_classes)
            self._class_stats = (y, n_classes, counts, sums / counts[:, None])
            self.mean = sums.sum(axis=0) / n
        else:
            self.mean = column_mean(X)
        self._X = X
        if self.dual:
            Xc = np.asarray(X, dtype=np.float64) - self.mean
            A = kernel_matrix(Xc, lower_only=True)
            del Xc
        else:
            # Only the lower triangle, Fortran-ordered: what LAPACK reads.
            A = centered_gram(X, self.mean, lower_only=True)
        m = A.shape[0]
        r = m if n_vectors is None else min(int(n_vectors), m)
        # scipy's LAPACK, on the BLAS of the products before and after it
        # (see blas_matmul); "evd" (divide and conquer) for every vector.
        w, vecs = scipy_eigh(
            A,
            lower=True,
            overwrite_a=True,
            check_finite=False,
            driver="evd" if r == m else "evr",
            subset_by_index=None if r == m else [m - r, m - 1],
        )
        del A
        # Round-off negatives of a PSD matrix are zeros.
        self.eigenvalues = np.clip(w[::-1], 0.0, None)
        self.vectors = np.asfortranarray(vecs[:, ::-1])  # columns descending

    def class_mean_coordinates(self, y, n_classes):
        """Centred class means ``μ_c - μ`` in the eigenbasis, shape (C, r).

        Primal: ``(μ_c - μ) V``. Dual: ``μ_c - μ = Xcᵀ a_c`` with
        ``a_c = 1[y = c] / n_c``, so the coordinate on ``v_i = Xcᵀ u_i / σ_i`` is
        ``σ_i u_iᵀ a_c``.
        """
        counts, means = self.class_statistics(y, n_classes)
        if not self.dual:
            return (means - self.mean) @ self.vectors
        A = onehot(y, n_classes).multiply(1.0 / counts[None, :]).tocsr()
        Ua = np.asarray(A.T @ self.vectors)
        return Ua * np.sqrt(self.eigenvalues)[None, :]

    def class_statistics(self, y, n_classes):
        """Class counts and means (:func:`class_statistics`), from the first
        pass when the spectrum was built with these ``labels``."""
        stats = self._class_stats
        if stats is not None and stats[0] is y and stats[1] == n_classes:
            return stats[2], stats[3]
        return class_statistics(self._X, y, n_classes)

    def basis_matmul(self, R):
        """Return ``V R`` (D × K) for ``R`` of shape (r, K), V the eigenvectors.

        Dual form: ``v_i = Xcᵀ u_i / σ_i``; directions with ``σ_i = 0`` must have
        zero rows in ``R`` (they are skipped).
        """
        R = np.asarray(R, dtype=np.float64)
        if not self.dual:
            return self.vectors[:, : R.shape[0]] @ R
        sigma = np.sqrt(self.eigenvalues[: R.shape[0]])
        nz = sigma > 0
        coef = self.vectors[:, : R.shape[0]][:, nz] @ (R[nz] / sigma[nz, None])
        Xc = np.asarray(self._X, dtype=np.float64) - self.mean
        return Xc.T @ coef

    def scores(self, n_components):
        """Principal component scores ``Xc v_i`` (N × k), as ``PCA.transform``.

        Signs of the components are arbitrary (as in any eigensolver).
        """
        k = int(n_components)
        if self.dual:
            return self.vectors[:, :k] * np.sqrt(self.eigenvalues[:k])[None, :]
        out = np.empty((self.n_samples, k), dtype=np.float64)
        V = self.vectors[:, :k]
        for start, stop, block in iter_float64_chunks(self._X):
            out[start:stop] = (block - self.mean) @ V
            del block  # before the next block is read
        return out


class ClassMeanSpectrum:
    """Spectrum of the centred features and the class means' coordinates in it.

    What the H-scores need from :class:`CenteredSpectrum` -- the eigenvalues
    ``λ`` of the scatter ``XcᵀXc`` (descending, ``min(N, D)`` of them) and the
    coordinates of the centred class means ``μ_c - μ`` in its eigenbasis -- without
    the eigenvectors themselves: the scatter (D × D when ``N > D``, the kernel
    ``Xc Xcᵀ`` otherwise) is reduced to tridiagonal form ``Q T Qᵀ`` once
    (:class:`Tridiagonalization`), ``T``'s eigenvectors ``W`` come from divide
    and conquer (:meth:`Tridiagonalization.eigh`), and
    ``Q`` is applied only to the C class vectors (O(min(N, D)²·C)) instead of
    back-transforming all ``W`` (the 2·min(N, D)³ of a full ``eigh``).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Features (float32 or float64; float64 inside).
    y : ndarray of shape (n_samples,)
        Labels encoded ``0 .. n_classes - 1``.
    n_classes : int
    mean_from_classes : bool, default=False
        Take the mean from the class sums' pass (two passes over the rows
        instead of three: for streamed features, see :func:`is_streamed`).
    fourth_powers : bool, default=False
        Also accumulate ``Σ_n ‖x_n - μ‖⁴`` (:attr:`sum_fourth_powers`) from the
        centred rows the scatter is formed from, for the Ledoit-Wolf
        shrinkage without a pass of its own.

    Attributes
    ----------
    eigenvalues : ndarray of shape (min(n_samples, n_features),)
        Eigenvalues of the scatter, descending; round-off negatives are zeros.
    coords : ndarray of shape (n_classes, min(n_samples, n_features))
        Primal: ``(μ_c - μ) V``. Dual: ``σ_i u_iᵀ a_c`` with ``a_c = 1[y = c] / n_c``
        (``μ_c - μ = Xcᵀ a_c``), as :meth:`CenteredSpectrum.class_mean_coordinates`.
    counts : ndarray of shape (n_classes,)
    mean : ndarray of shape (n_features,)
    n_samples, n_features : int
    """

    def __init__(
        self, X, y, n_classes, *, mean_from_classes=False, fourth_powers=False
    ):
        n, d = X.shape
        self.n_samples, self.n_features = n, d
        self.dual = n <= d
        X = small_source_to_array(X)
        if mean_from_classes and not self.dual:
            # Streamed rows: one pass gives the class statistics and the mean.
            counts, sums = class_sums(X, y, n_classes)
            means = sums / counts[:, None]
            self.mean = sums.sum(axis=0) / n
        else:
            self.mean = column_mean(X)
        #: ``Σ_n ‖x_n - μ‖⁴`` (Ledoit-Wolf's term), with ``fourth_powers``.
        self.sum_fourth_powers = None
        if self.dual:
            Xc = np.asarray(X, dtype=np.float64) - self.mean
            if fourth_powers:
                self.sum_fourth_powers = _fourth_powers(Xc)
            tri = Tridiagonalization(
                kernel_matrix(Xc, lower_only=True), overwrite_a=True
            )
            counts = np.bincount(y, minlength=n_classes).astype(np.float64)
            A = np.zeros((n, n_classes), order="F")
            A[np.arange(n), y] = 1.0 / counts[y]
            R = A
        else:
            if not mean_from_classes:
                counts, means = class_statistics(X, y, n_classes)
            G = centered_gram(
                X, self.mean, lower_only=True, fourth_powers=fourth_powers
            )
            if fourth_powers:  # from the Gram's own centred chunks
                G, self.sum_fourth_powers = G
            tri = Tridiagonalization(G, overwrite_a=True)
            # The reduction overwrote G and copied its reflectors: dropped, or
            # it stays alive beside them through the eigenvectors.
            G = None
            R = (means - self.mean).T
        w, W = tri.eigh()  # ascending
        self.counts = counts
        # Coordinates on the eigenvectors Q W, descending: (Qᵀ R)ᵀ W, reversed.
        coords = blas_matmul(tri.apply_qt(R).T, W)[:, ::-1]
        self.eigenvalues = np.clip(w[::-1], 0.0, None)
        if self.dual:
            coords *= np.sqrt(self.eigenvalues)[None, :]
        self.coords = np.ascontiguousarray(coords)


def ledoit_wolf_shrinkage_from_spectrum(
    eigenvalues, sum_sq_norms2, n_samples, n_features
):
    """Ledoit-Wolf shrinkage of the covariance of centred data, from its spectrum.

    The same number as :func:`sklearn.covariance.ledoit_wolf_shrinkage` without
    forming any D × D product: with ``G = XcᵀXc`` (eigenvalues ``λ``),
    ``‖G‖_F² = Σλ²``, ``tr G = Σλ`` and ``Σ_ij (X²ᵀX²)_ij = Σ_n ‖x_n‖⁴``.

    Parameters
    ----------
    eigenvalues : ndarray
        Non-zero eigenvalues of ``XcᵀXc``.
    sum_sq_norms2 : float
        ``Σ_n ‖x_n - μ‖⁴``.
    n_samples, n_features : int

    Returns
    -------
    shrinkage : float
        In [0, 1].
    """
    n, p = float(n_samples), float(n_features)
    if n_features == 1:
        return 0.0
    trace = eigenvalues.sum() / n
    mu = trace / p
    delta_ = np.sum(eigenvalues**2) / n**2
    beta = 1.0 / (p * n) * (sum_sq_norms2 / n - delta_)
    delta = (delta_ - 2.0 * mu * trace + p * mu**2) / p
    beta = min(beta, delta)
    return 0.0 if beta == 0 else float(beta / delta)


def sum_fourth_powers_of_norms(X, mean):
    """``Σ_n ‖x_n - mean‖⁴`` in float64, chunk by chunk (Dask: on the workers)."""
    if _on_device(X):
        from ..utils._torch import device_sum_fourth_powers_of_norms

        return device_sum_fourth_powers_of_norms(
            X, mean, chunk_bytes=_TRANSFORM_CHUNK_BYTES
        )
    if _distributed(X):
        return float(reduce_blocks(X, partial(_fourth_power_block, mean=mean)))
    total = 0.0
    for _, _, Z in iter_centered_chunks(X, mean):
        total += _fourth_powers(Z)
        del Z  # before the next chunk is made
    return total


def _fourth_power_block(block, *, mean):
    return _fourth_powers(block - mean)


def oas_shrinkage(S, n_samples):
    """Oracle Approximating Shrinkage coefficient of a covariance matrix ``S``.

    The formula of :func:`sklearn.covariance.oas` (Chen et al., 2010, as
    scikit-learn writes it), computed from ``S`` and the number of samples alone,
    so it applies to covariances assembled from sufficient statistics.
    """
    p = S.shape[0]
    alpha = np.mean(S**2)
    mu = np.trace(S) / p
    num = alpha + mu**2
    den = (n_samples + 1) * (alpha - mu**2 / p)
    return 1.0 if den <= 0 else float(min(num / den, 1.0))


def shrink_covariance(S, shrinkage, n_samples=None):
    """Shrink ``S`` toward ``tr(S)/p · I``; return ``(S_shrunk, coefficient)``.

    Parameters
    ----------
    S : ndarray of shape (p, p)
        Empirical covariance.
    shrinkage : float in [0, 1] or "oas"
        Fixed coefficient, or the OAS coefficient (:func:`oas_shrinkage`).
    n_samples : int, default=None
        Samples behind ``S`` (needed by "oas").
    """
    p = S.shape[0]
    a = oas_shrinkage(S, n_samples) if shrinkage == "oas" else float(shrinkage)
    out = (1.0 - a) * S
    out.flat[:: p + 1] += a * np.trace(S) / p
    return out, a


# --- Shrunk linear discriminant analysis (SFDA, NCTI, ETran) -----------------


def iter_row_blocks(X, row_map=None, chunk_bytes=_CHUNK_BYTES):
    """Yield ``(start, stop, block)`` float64 row blocks of ``X``, always chunked.

    ``row_map(start, stop, block)``, when given, returns the rows actually used
    (SFDA's confidence mix), so transformed features are never held whole.
    """
    if isinstance(X, FeatureSource):
        for start, stop, block in X.blocks(chunk_bytes):
            if row_map is not None:
                block = row_map(start, stop, block)
            yield start, stop, block
            del block  # before the next block is read: the caller's is the one
        return
    n, d = X.shape
    rows = max(1, int(chunk_bytes // (8 * max(d, 1))))
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        block = np.asarray(X[start:stop], dtype=np.float64)
        if row_map is not None:
            block = row_map(start, stop, block)
        yield start, stop, block
        del block  # before the next block is read: the caller's is the one


def scatter_sum(X, make_rows, *row_args, chunk_bytes=_TRANSFORM_CHUNK_BYTES):
    """``Σ_blocks RᵀR`` for ``R = make_rows(block, *rows)``: upper triangle, float64.

    The within-class scatters of SFDA, NCTI and ETran and TransRate's Gram of
    unit rows are sums of one ``dsyrk`` per block of rows made from the
    features. Here one D × D accumulator is updated in place
    (``dsyrk`` with ``beta=1``), where a sum of fresh per-block products
    would allocate, fill and add a D × D array per block -- at D = 2048 a
    32 MiB array for every 1 024 rows. ``make_rows`` may return
    ``(R, extras)``: ``extras`` (a number or a tuple of them) are summed too.
    For a Dask-array source every stored block is one task
    (:func:`~skdisco.utils._source.reduce_blocks`), which sums fresh
    products.

    Returns
    -------
    W : ndarray of shape (d, d)
        Fortran-ordered; its upper triangle holds the sum (the lower one is
        not set).
    extras : object
        Only when ``make_rows`` returns extras: their sum.
    """
    if _distributed(X):
        return reduce_blocks(
            X, partial(_scatter_block, make_rows), *row_args, chunk_bytes=chunk_bytes
        )
    W = None
    extras = None
    for start, stop, block in iter_blocks(X, chunk_bytes):
        rows = [_slice_rows(a, start, stop) for a in row_args]
        R, more = _split_extras(make_rows(block, *rows))
        del block  # the rows made from it are what the product reads
        if more is not None:
            extras = more if extras is None else add_statistics(extras, more)
        W = _add_upper_gram(R, W)
        del R  # before the next block is read: one block of rows alive
    return W if extras is None else (W, extras)


def _scatter_block(make_rows, block, *rows):
    """One block's ``RᵀR`` (upper triangle), and ``make_rows``' extras if any."""
    R, extras = _split_extras(make_rows(block, *rows))
    W = _add_upper_gram(R)
    return W if extras is None else (W, extras)


def _split_extras(made):
    """``(R, extras)`` from what a ``make_rows`` returned (``extras`` None if none)."""
    return made if isinstance(made, tuple) else (made, None)


def _add_upper_gram(R, W=None):
    """``W + RᵀR`` into the upper triangle of ``W``, in place (a new matrix if None)."""
    R = np.ascontiguousarray(R, dtype=np.float64)
    if W is None:
        return dsyrk(1.0, R.T, trans=0, lower=0)
    return dsyrk(1.0, R.T, beta=1.0, c=W, trans=0, lower=0, overwrite_c=1)


def lda_statistics(X, y, n_classes, *, transform=None):
    """Class counts, class means and the pooled within-class covariance.

    The covariance is ``Σ_c (n_c/N) cov_c`` with population (ddof=0) class
    covariances -- what SFDA, ETran and scikit-learn's LDA call ``Sw`` -- from
    rows centred on their class mean, in float64, one ``dsyrk`` per chunk (no
    N × N matrix, no full float64 copy). Two passes over the rows (class sums,
    then the scatter about them); for a Dask-array source both run as tasks on
    the workers. ``transform(block)``, when given, maps each float64 block to
    the rows actually used (NCTI's principal-component scores); it must be
    picklable for a Dask source (a ``functools.partial`` of a module-level
    function).

    Returns
    -------
    counts : ndarray of shape (n_classes,)
    means : ndarray of shape (n_classes, d)
    within : ndarray of shape (d, d)
    """
    n = X.shape[0]
    if _on_device(X) and transform is None:
        from ..utils._torch import device_within_scatter

        counts, means = class_statistics(X, y, n_classes)
        W = device_within_scatter(X, y, means, chunk_bytes=_CHUNK_BYTES)
        check_finite_statistics(W, X)
        return counts, means, W / n
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    sums = reduce_blocks(
        X, partial(_class_sum_block, n_classes=n_classes, transform=transform), y
    )
    means = sums / counts[:, None]
    W = scatter_sum(X, partial(_within_rows, means=means, transform=transform), y)
    return counts, means, symmetrize_upper(W) / n


def _within_rows(block, y_block, *, means, transform=None):
    """The rows of a block centred on their class means."""
    if transform is not None:
        block = transform(block)
    return block - means[y_block]


def between_covariance(counts, means):
    """``Σ_c (n_c/N)(μ_c - μ)(μ_c - μ)ᵀ``: the between-class covariance."""
    priors = counts / counts.sum()
    diff = (means - priors @ means) * np.sqrt(priors)[:, None]
    return diff.T @ diff


def power_iteration_eigenvalue(A, n_iter=3):
    """Largest eigenvalue of a symmetric PSD matrix as SFDA estimates it.

    Starts from ``A·1`` and takes ``n_iter`` double steps ``y = Ax/‖Ax‖``,
    ``x = Ay/‖Ay‖``, returning ``xᵀAy`` (SFDA's ``iterative_A``: a few
    matrix-vector products instead of an eigendecomposition).
    """
    x = A.sum(axis=1)
    y = x
    for _ in range(n_iter):
        t = A @ x
        y = t / np.linalg.norm(t)
        t = A @ y
        x = t / np.linalg.norm(t)
    return float(x @ A @ y)


def sfda_shrinkage(within, n_iter=3, scale=1.0):
    """SFDA's adaptive shrinkage ``max(exp(-5 λ_max(Sw)), 1e-10)``.

    ``within`` may be the covariance of features divided by ``scale``
    (:func:`rescaled`): the eigenvalue is then scaled back by ``scale²``, as the
    shrinkage is not scale invariant.
    """
    lam = power_iteration_eigenvalue(within, n_iter)
    with np.errstate(over="ignore", under="ignore"):
        lam = np.float64(lam) * scale * scale
        return max(float(np.exp(-5.0 * lam)), 1e-10)


def lda_coefficients(means, priors, covariance=None, center=None):
    """Linear discriminant ``(coef, intercept)`` for a shared ``covariance``.

    The log posterior up to a constant is ``(x - c) coef_kᵀ + intercept_k`` with
    ``coef = (μ - c) Σ⁻¹`` and ``intercept = -½ (μ_k - c)ᵀ Σ⁻¹ (μ_k - c) + log π_k``;
    centring on ``c`` (the data mean) changes nothing mathematically and avoids
    cancellation. ``covariance=None`` is the identity (nearest class mean).
    ``Σ⁻¹`` is applied by a Cholesky solve -- equal to the ``V Vᵀ`` that SFDA
    forms from all generalised eigenvectors of ``(Sb, Σ)`` -- with a
    pseudo-inverse when ``Σ`` is singular.
    """
    from scipy.linalg import LinAlgError, cho_factor, cho_solve, pinvh

    center = np.zeros(means.shape[1]) if center is None else center
    diff = means - center
    if covariance is None:
        coef = diff.copy()
    else:
        try:
            coef = cho_solve(cho_factor(covariance, lower=True), diff.T).T
        except LinAlgError:
            coef = diff @ pinvh(covariance)
    intercept = -0.5 * np.einsum("kd,kd->k", coef, diff) + np.log(priors)
    return coef, intercept


def lda_predict_proba(X, coef, intercept, center):
    """Posterior ``p(k | x)`` (N × K) of the linear discriminant, chunk by chunk.

    For in-memory features only (it keeps N × K values); a score that needs one
    value per row reads :func:`lda_posterior_values` instead.
    """
    from scipy.special import softmax

    if _on_device(X):
        from ..utils._torch import device_lda_predict_proba

        return device_lda_predict_proba(
            X, coef, intercept, center, chunk_bytes=_TRANSFORM_CHUNK_BYTES
        )
    out = np.empty((X.shape[0], coef.shape[0]), dtype=np.float64)
    for start, stop, block in iter_row_blocks(X):
        out[start:stop] = softmax((block - center) @ coef.T + intercept, axis=1)
        del block  # before the next block is read
    return out


def true_class_probability(P, y):
    """``P[i, y_i]`` for every row ``i``: the posterior of the true class."""
    return P[np.arange(P.shape[0]), y]


def lda_posterior_values(
    X, y, coef, intercept, center, *, value=true_class_probability, transform=None
):
    """Per-row values of the linear discriminant's posterior, in one pass.

    Each block's posterior ``P = softmax((x - c) coefᵀ + intercept)`` (rows ×
    K) is reduced at once to ``value(P, y_block)`` -- by default the
    probability of the true class -- so no N × K matrix is ever held (at
    N = 10⁶ and K = 1 000 it would take 8 GB). Blocks hold at most
    ``16 MiB · min(1, d / K)`` of rows. On a Dask-array source the blocks are
    tasks on the workers (``value`` and ``transform`` picklable).

    Parameters
    ----------
    X : ndarray or FeatureSource of shape (n_samples, d)
        Features.
    y : ndarray of shape (n_samples,)
        Encoded labels.
    coef, intercept, center : ndarray
        The discriminant, as :func:`lda_coefficients` returns it, and its centre.
    value : callable, default=true_class_probability
        ``value(P, y_block)`` -> one value (or one row of values) per row.
    transform : callable, default=None
        Maps each float64 block to the rows the discriminant reads.

    Returns
    -------
    values : ndarray of shape (n_samples, ...)
    """
    chunk = posterior_chunk_bytes(X.shape[1], coef.shape[0])
    if _on_device(X) and transform is None:
        from ..utils._torch import device_lda_posterior_values

        return device_lda_posterior_values(
            X, y, coef, intercept, center, value, chunk_bytes=chunk
        )
    fn = partial(
        _lda_posterior_block,
        coef=coef,
        intercept=intercept,
        center=center,
        value=value,
        transform=transform,
    )
    return row_values(X, fn, y, chunk_bytes=chunk)


def posterior_chunk_bytes(n_features, n_classes):
    """Bytes of d-wide float64 rows per block of a pass that forms K logits a row.

    ``16 MiB · min(1, d / K)`` (at least one row), so the logits of a block
    are no larger than the block itself.
    """
    d, k = max(int(n_features), 1), max(int(n_classes), 1)
    return max(8 * d, int(_TRANSFORM_CHUNK_BYTES * min(1.0, d / k)))


def _lda_posterior_block(block, y_block, *, coef, intercept, center, value, transform):
    from scipy.special import softmax

    if transform is not None:
        block = transform(block)
    # (x - c) Aᵀ + b as x Aᵀ + (b - c Aᵀ): no centred copy of the block, and
    # the product on the BLAS of the LAPACK calls before it (blas_matmul).
    logits = blas_matmul(block, coef.T)
    logits += intercept - center @ coef.T
    return value(softmax(logits, axis=1), y_block)


def lda_directions(between, within, n_components):
    """Leading discriminant directions: generalised eigenvectors of (Sb, Sw).

    Returns the ``n_components`` largest eigenvalues (descending) and their
    eigenvectors ``V`` normalised as ``Vᵀ Sw V = I`` (``scipy.linalg.eigh``).
    """
    from scipy.linalg import eigh

    d = within.shape[0]
    k = int(min(max(n_components, 1), d))
    w, V = eigh(between, within, subset_by_index=[d - k, d - 1])
    return w[::-1], V[:, ::-1]


def gram_eigenvalues(X):
    """Eigenvalues of ``XᵀX`` (descending, ``min(N, D)`` of them, float64).

    Uses the D × D Gram when ``N > D`` and the N × N kernel otherwise: the non-zero
    eigenvalues are the same, the smaller matrix is cheaper.
    """
    n, d = X.shape
    if n > d:
        A = gram_statistics(X, lower_only=True)[0]
    else:
        A = kernel_matrix(X, lower_only=True)
    return _psd_eigenvalues(A)


def minmax_across_models(values, name):
    """Min-max normalise one component across a set of models, into [0, 1].

    The combination step of the set-level scores (NCTI, ETran, DISCO's detection
    score) normalises each per-model component this way. A component equal for
    every model cannot separate them: it normalises to 0, with a UserWarning
    naming it (the references divide by zero).
    """
    values = np.asarray(values, dtype=np.float64)
    span = values.max() - values.min()
    if not span > 0:
        warnings.warn(
            f"The {name} is the same for every model; it contributes 0 to the "
            "combined score (the reference divides by zero).",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
        return np.zeros_like(values)
    return (values - values.min()) / span


# --- Features of extreme magnitude -------------------------------------------

# Features whose largest magnitude lies in [2^-_SAFE_EXPONENT, 2^_SAFE_EXPONENT]
# are used as given: their squares, and sums of up to 2^400 of them, stay normal
# float64 numbers. Outside that range a scale-invariant method divides them by a
# power of two (exact: only the exponents change) before squaring anything.
_SAFE_EXPONENT = 256


def max_abs(X):
    """Largest absolute value of ``X`` as a float (0 when empty).

    Two reductions over ``X`` in its own dtype (exact for float32 too), with no
    float64 copy or ``abs`` temporary of the data.
    """
    if _on_device(X):
        from ..utils._torch import device_max_abs

        return device_max_abs(X, chunk_bytes=_CHUNK_BYTES)
    if isinstance(X, FeatureSource):
        return float(reduce_blocks(X, _max_abs_block, combine=max))
    if X.size == 0:
        return 0.0
    return float(max(np.max(X), -np.min(X)))


def _max_abs_block(block):
    return float(max(np.max(block), -np.min(block)))


def magnitude_scale(X, safe_exponent=_SAFE_EXPONENT):
    """The power of two ``s`` to divide ``X`` by, or 1.0 when none is needed.

    ``s = 2^e`` with ``max|X| / s`` in ``[1, 2)`` when ``max|X|`` lies outside
    ``[2^-safe_exponent, 2^safe_exponent]`` (by default ``2^±256``, where
    squares overflow or underflow float64; LogME and DISCO, which decompose a
    Gram matrix, keep a wider margin); 1.0 for ordinary magnitudes and for
    all-zero features.
    """
    # Out-of-core features: the first rows fix the scale, so one-pass scores
    # stay one pass; a later block far larger overflows the statistics, which
    # check_finite_statistics then reports.
    largest = X.peek_max_abs() if isinstance(X, FeatureSource) else max_abs(X)
    if largest == 0.0:
        return 1.0
    exponent = np.frexp(largest)[1] - 1  # largest = f · 2^(exponent+1), f ∈ [½, 1)
    if abs(exponent) <= safe_exponent:
        return 1.0
    return float(np.ldexp(1.0, int(exponent)))


def rescaled(X, safe_exponent=_SAFE_EXPONENT):
    """``(X / s, s)`` with ``s`` from :func:`magnitude_scale`.

    ``X`` is returned as it is (no copy) when ``s == 1``; otherwise as a new
    float64 array whose largest magnitude is in ``[1, 2)``. Division by a power
    of two is exact, so a scale-invariant score of ``X / s`` is the score of
    ``X`` -- computed without overflowing or underflowing float64.
    """
    s = magnitude_scale(X, safe_exponent)
    if s == 1.0:
        return X, 1.0
    if isinstance(X, FeatureSource):
        # Out of core: a source whose every block is divided as it is read
        # (read in order, on the caller: no random access, no Dask tasks).
        blocks = partial(_divided_blocks, X, s)
        return as_feature_source(blocks, n_samples=X.n_samples, name=X.name), s
    return np.asarray(X, dtype=np.float64) / s, s


def _divided_blocks(X, s):
    for _, _, block in X.blocks():
        block = block / s  # a block may be a view of the caller's float64 chunk
        yield block
        del block  # before the next block is read: the caller's is the one


def check_magnitude(X, method):
    """Raise a ValueError when ``X`` is too large for a method that is not
    scale invariant to be computed in float64.

    Such a method (its definition holds an absolute constant: a prior, a
    regulariser) cannot be computed in a rescaled basis, and its float64
    arithmetic overflows on features above ``2^256`` in magnitude.
    """
    largest = max_abs(X)
    if largest > np.ldexp(1.0, _SAFE_EXPONENT):
        raise ValueError(
            f"features of magnitude {largest:.3g} overflow float64 when squared, "
            f"and {method} is not scale invariant (it cannot be computed in a "
            "rescaled basis); rescale them (e.g. divide by their largest value)."
        )


def check_within_scatter(within, method):
    """Raise a ValueError when the pooled within-class covariance is zero.

    Every class's features are then constant: the discriminant a
    Fisher-type method builds (SFDA, NCTI, ETran's shrunk LDA) inverts that
    covariance, and no shrinkage toward its own trace can make it invertible.
    """
    if not np.trace(within) > 0:
        raise ValueError(
            f"{method} is undefined here: the features are constant within every "
            "class (the within-class covariance is zero), so there is no "
            "discriminant to fit. Constant features carry no information; "
            "check the feature extraction."
        )


def content_order(F, y):
    """Order of the rows of ``F`` (with labels ``y``) defined by their content.

    Rows are sorted by the norm of the centred row (rounded to float32 so that
    rounding differences of the summation cannot split a tie), ties broken
    lexicographically by the row's values and then by its label. The result
    depends on the multiset of ``(row, label)`` pairs only: permuting the
    samples permutes the input rows but not the sorted data, and the norm key
    does not change under a global rescaling, a translation or a rotation of
    the features. Identical rows with identical labels may swap, which changes
    nothing.
    """
    # An order-invariant mean: the sum of each sorted column.
    mean = np.sort(F, axis=0).sum(axis=0) / F.shape[0]
    key = np.sqrt(row_sq_norms(F, mean)).astype(np.float32)
    order = np.argsort(key, kind="stable")
    same = key[order][1:] == key[order][:-1]
    tied = np.zeros(order.shape[0], dtype=bool)
    tied[1:] |= same
    tied[:-1] |= same
    if tied.any():
        sub = order[tied]
        # lexsort: the last key is the primary one.
        keys = [y[sub], *(F[sub, j] for j in range(F.shape[1] - 1, -1, -1))]
        order[tied] = sub[np.lexsort([*keys, key[sub]])]
    return order, key[order]
