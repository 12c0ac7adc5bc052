"""Linear algebra shared by the transferability methods.

One home for the computations several metrics need -- Gram matrices accumulated in
float64 chunk by chunk (so float32 or memory-mapped features are never copied whole),
one-hot cross products, class statistics, and the tridiagonal spectral system that
evaluates ridge-type quadratic forms for many shifts at O(d) cost each. A metric
module imports from here instead of re-deriving any of it.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack
from scipy.linalg.blas import dsyrk

# Rows of features converted to float64 at a time when the input is not already
# a float64 C-contiguous array (bounds the extra memory to ~64 MiB).
_CHUNK_BYTES = 64 * 2**20


def iter_float64_chunks(X, chunk_bytes=_CHUNK_BYTES):
    """Yield ``(start, stop, block)`` with ``block = X[start:stop]`` as float64.

    A float64 C-contiguous ndarray is yielded whole, without a copy; anything else
    (float32, Fortran order, ``np.memmap``) is converted one block of rows at a
    time so peak extra memory stays near ``chunk_bytes``.
    """
    n, d = X.shape
    if isinstance(X, np.ndarray) and X.dtype == np.float64 and X.flags.c_contiguous:
        yield 0, n, X
        return
    rows = max(1, int(chunk_bytes // (8 * max(d, 1))))
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        yield start, stop, np.ascontiguousarray(X[start:stop], dtype=np.float64)


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


def gram_statistics(X, Y=None, *, chunk_bytes=_CHUNK_BYTES, lower_only=False):
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

    Returns
    -------
    G : ndarray of shape (d, d)
        Symmetric Gram matrix (both triangles filled unless ``lower_only``).
    B : ndarray of shape (d, K) or None
        Cross products with the targets.
    """
    d = X.shape[1]
    G = np.zeros((d, d), dtype=np.float64, order="F")
    B = None if Y is None else np.zeros((d, Y.shape[1]), dtype=np.float64)
    for start, stop, block in iter_float64_chunks(X, chunk_bytes):
        # block.T is F-contiguous: syrk reads it in place and updates G's lower part.
        G = dsyrk(1.0, block.T, beta=1.0, c=G, trans=0, lower=1, overwrite_c=1)
        if B is not None:
            B += _cross(block.T, Y[start:stop])
    if lower_only:
        return G, B
    # G's lower triangle, read as its transpose, is an upper triangle.
    return symmetrize_upper(G.T), B


def kernel_matrix(X):
    """Return ``K = X Xᵀ`` (n × n, float64) -- the dual Gram matrix for n < d."""
    Xd = np.ascontiguousarray(X, dtype=np.float64)
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
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    sums = np.zeros((n_classes, X.shape[1]), dtype=np.float64)
    for start, stop, block in iter_float64_chunks(X):
        sums += onehot(y[start:stop], n_classes).T @ block
    return counts, sums / counts[:, None]


class TridiagonalSystem:
    """Spectrum and shifted solves of a symmetric PSD matrix ``A`` for many RHS.

    ``A = Q T Qᵀ`` with ``T`` tridiagonal (LAPACK ``sytrd``). From it this object
    gives the eigenvalues of ``A`` (``sterf`` on ``T``, O(n²)) and, for each
    column ``r`` of a right-hand side ``R``, the quadratic forms of ``(A + tI)⁻¹``
    at any shift ``t > 0`` through one O(n) tridiagonal solve on ``c = Qᵀ r``.
    That replaces a full eigendecomposition (whose eigenvector back-transformation
    dominates its cost) when only eigenvalues and a few quadratic forms are needed.

    Parameters
    ----------
    A : ndarray of shape (n, n)
        Symmetric positive semi-definite matrix (both triangles filled).
    R : ndarray of shape (n, K)
        Right-hand sides.
    overwrite_a : bool, default=False
        Let LAPACK overwrite ``A`` (saves a copy when ``A`` is Fortran-ordered).
    """

    def __init__(self, A, R, *, overwrite_a=False):
        n = A.shape[0]
        if n == 1:
            self.diag = np.array([A[0, 0]], dtype=np.float64)
            self.offdiag = np.zeros(0)
            self.C = np.asarray(R, dtype=np.float64).reshape(1, -1).copy()
            self.eigenvalues = np.clip(self.diag.copy(), 0.0, None)
            self._reflectors = None
            return
        lwork, info = lapack.dsytrd_lwork(n, lower=1)
        # Only the lower triangle of A is read; with overwrite_a and a Fortran-
        # ordered A (as gram_statistics(lower_only=True) returns) no copy is made.
        c, d, e, tau, info = lapack.dsytrd(
            np.asfortranarray(A), lower=1, lwork=int(lwork), overwrite_a=overwrite_a
        )
        if info != 0:  # pragma: no cover - LAPACK argument error
            raise np.linalg.LinAlgError(f"LAPACK dsytrd failed (info={info}).")
        self.diag, self.offdiag = d, e
        # Q = diag(1, Q') where Q' is the QR-type product of the reflectors stored
        # below the first sub-diagonal (LAPACK's dormtr does exactly this).
        self._reflectors = (np.asfortranarray(c[1:, : n - 1]), tau)
        self.C = self.apply_qt(np.asarray(R, dtype=np.float64))
        w, info = lapack.dsterf(d.copy(), e.copy())
        if info != 0:  # pragma: no cover - convergence failure of QL
            raise np.linalg.LinAlgError(f"LAPACK dsterf failed (info={info}).")
        # A is PSD: round-off negatives are zeros.
        self.eigenvalues = np.clip(np.sort(w)[::-1], 0.0, None)

    def _apply(self, R, trans):
        R = np.array(R, dtype=np.float64, order="F", copy=True)
        if self._reflectors is None or R.shape[1] == 0:
            return R
        A, tau = self._reflectors
        sub = np.asfortranarray(R[1:])
        lwork = max(1, sub.shape[1]) * 64
        out, _, info = lapack.dormqr("L", trans, A, tau, sub, lwork=lwork)
        if info != 0:  # pragma: no cover
            raise np.linalg.LinAlgError(f"LAPACK dormqr failed (info={info}).")
        R[1:] = out
        return R

    def apply_qt(self, R):
        """Return ``Qᵀ R``."""
        return self._apply(R, "T")

    def apply_q(self, R):
        """Return ``Q R``."""
        return self._apply(R, "N")

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
