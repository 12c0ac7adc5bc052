"""Ranking measures on many bootstrap replicates at once (vectorised).

A bootstrap replicate of a ranking resamples its candidate models with
replacement, so a replicate holds duplicates: a duplicated model ties with its
copy in both the scores and the truth. The weighted τ of scipy (Vigna's
definition, which :func:`~skdisco.selection.weighted_kendall_tau` returns)
already treats such a pair as it should: the pair has sign 0 in both orders, so
it adds nothing to the numerator nor to either norm, and the two copies take
consecutive ranks of the lexicographic order that sets the weights (which copy
comes first does not change the value). :func:`replicate_taus` computes that
same definition for thousands of replicates without a Python loop, from the
pairwise sign matrices of the original candidates and the multiplicity of each
candidate in each replicate; the tests check it against scipy on replicates
with duplicates.
"""

from __future__ import annotations

import warnings

import numpy as np


def bootstrap_indices(n, n_bootstrap, random_state):
    """``(n_bootstrap, n)`` candidate indices drawn with replacement."""
    rng = np.random.default_rng(random_state)
    return rng.integers(0, n, size=(n_bootstrap, n))


def _lex_rank(a, b):
    """Rank (0 = highest) by decreasing ``a``, ties broken by decreasing ``b``."""
    order = np.lexsort((-b, -a), axis=-1)
    rank = np.empty_like(order)
    positions = np.broadcast_to(np.arange(a.shape[-1]), a.shape)
    np.put_along_axis(rank, order, positions, axis=-1)
    return rank


def replicate_taus(scores, truth, idx, *, weighted=True):
    r"""Weighted Kendall τ (or τ-b) of every score row on every replicate.

    Parameters
    ----------
    scores : ndarray of shape (n_scorers, n)
        Scores of the ``n`` candidates; NaN marks a candidate a scorer did not
        score (it is left out of that scorer's τ on every replicate).
    truth : ndarray of shape (n,)
        Finite ground truth of the candidates.
    idx : ndarray of shape (n_replicates, n)
        Candidate indices of each replicate (:func:`bootstrap_indices`).
    weighted : bool, default=True
        ``True``: scipy's weighted τ (hyperbolic additive weights on the
        lexicographic ranks, averaged over both orders). ``False``: Kendall's
        τ-b (every pair weighs 1).

    Returns
    -------
    tau : ndarray of shape (n_scorers, n_replicates)
        NaN on a replicate where the scores or the truth of the kept candidates
        are all equal (the correlation is undefined there).

    Notes
    -----
    With :math:`A_{ij} = \mathrm{sgn}(s_i-s_j)\,\mathrm{sgn}(t_i-t_j)` and
    :math:`w_{ij} = w_i + w_j`, :math:`\sum_{i<j} w_{ij} A_{ij} = \sum_i w_i
    C_i` with :math:`C_i = \sum_j A_{ij}`; on a replicate with multiplicities
    :math:`m`, :math:`C` of a drawn copy of candidate :math:`a` is
    :math:`(A m)_a`, one matrix product for all replicates. The norms are the
    same sums over :math:`|\mathrm{sgn}|`.
    """
    scores = np.asarray(scores, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    n_scorers, n = scores.shape
    n_rep = idx.shape[0]
    counts = np.zeros((n_rep, n))
    np.add.at(counts, (np.repeat(np.arange(n_rep), n), idx.ravel()), 1.0)
    valid = np.isfinite(scores)
    filled = np.where(valid, scores, 0.0)
    dt = np.sign(truth[:, None] - truth[None, :])
    out = np.empty((n_scorers, n_rep))
    rows = np.arange(n_rep)[:, None]
    for k in range(n_scorers):
        v = valid[k]
        both = v[:, None] & v[None, :]
        ds = np.where(both, np.sign(filled[k][:, None] - filled[k][None, :]), 0.0)
        sums = [
            (counts @ mat)[rows, idx]  # (n_rep, n): C, Dx, Dy of each drawn copy
            for mat in (ds * dt, np.abs(ds), np.where(both, np.abs(dt), 0.0))
        ]
        # unscored candidates go last in both orders, so they take no rank
        s_rep = np.where(v, filled[k], -np.inf)[idx]
        t_rep = np.where(v, truth, -np.inf)[idx]
        if weighted:
            ranks = (_lex_rank(s_rep, t_rep), _lex_rank(t_rep, s_rep))
            weights = [1.0 / (r + 1.0) for r in ranks]
        else:
            weights = [np.ones_like(s_rep)]
        total = np.zeros(n_rep)
        with np.errstate(invalid="ignore", divide="ignore"):
            for w in weights:
                num, nx, ny = ((w * m).sum(axis=1) for m in sums)
                total += num / np.sqrt(nx * ny)
        tau = total / len(weights)
        tau[~np.isfinite(tau)] = np.nan
        out[k] = tau
    return out


def replicate_pearson(scores, truth, idx):
    """Pearson correlation of one score vector on every replicate (NaN if constant)."""
    s, t = scores[idx], truth[idx]
    s = s - s.mean(axis=1, keepdims=True)
    t = t - t.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (s * t).sum(axis=1) / np.sqrt((s * s).sum(axis=1) * (t * t).sum(axis=1))
    r[~np.isfinite(r)] = np.nan
    return np.clip(r, -1.0, 1.0)


def replicate_top_k(scores, truth, idx, k):
    """Top-k relative accuracy of one score vector on every replicate."""
    s, t = scores[idx], truth[idx]
    top = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(t, top, axis=1).max(axis=1) / t.max(axis=1)


def percentile_interval(replicates, confidence, axis=-1):
    """Percentile bootstrap interval over finite replicates (NaN if none)."""
    alpha = (1.0 - confidence) / 2.0
    reps = np.asarray(replicates, dtype=np.float64)
    with warnings.catch_warnings():  # an all-NaN slice gives NaN, as documented
        warnings.simplefilter("ignore", RuntimeWarning)
        low = np.nanquantile(reps, alpha, axis=axis)
        high = np.nanquantile(reps, 1.0 - alpha, axis=axis)
    return low, high
