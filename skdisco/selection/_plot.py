"""Plots of a ranking (matplotlib is an optional dependency, imported on use)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..utils._validation import plain_value
from ._evaluate import (
    _ranking_table,
    _truth_series,
    score_columns,
    weighted_kendall_tau,
)


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Plotting needs matplotlib, an optional dependency of skdisco: "
            "`pip install matplotlib` (or `pip install skdisco[plot]`)."
        ) from exc
    return plt


def _pick_scorer(table, scorer):
    if scorer is None:
        columns = score_columns(table)
        if not columns:
            raise ValueError("The ranking has no score columns to plot.")
        return columns[0]
    if scorer not in table.columns:
        raise ValueError(
            f"{plain_value(scorer)!r} is not a column of the ranking; columns are "
            f"{list(table.columns)}."
        )
    return scorer


def _contribution_columns(table, scorer):
    prefix = f"{scorer}_contribution_"
    cols = [c for c in table.columns if c.startswith(prefix)]
    return sorted(cols, key=lambda c: int(c[len(prefix) :]))


def plot_ranking(ranking, scorer=None, *, breakdown=True, ax=None):
    """The ranking as a horizontal bar chart, best model on top.

    When the scorer has a per-component breakdown (DISCO: the contribution of
    each group of singular values, ``disco_contribution_<i>`` columns of
    :func:`rank_models`), each bar is split into its components, so the chart
    shows which part of each model's spectrum earns its score.

    Parameters
    ----------
    ranking : pandas.DataFrame
        What :func:`rank_models` returns.
    scorer : str, default=None
        Score column to plot; ``None``: the first scorer.
    breakdown : bool, default=True
        Stack the per-component contributions when the ranking has them.
    ax : matplotlib Axes, default=None
        Where to draw; ``None`` creates a figure.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on. Models whose score is missing (failed) are listed in
        the title, not drawn.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skdisco.selection import plot_ranking, rank_models
    >>> X, y = load_digits(return_X_y=True)
    >>> noise = np.random.default_rng(0).normal(size=X.shape)
    >>> ranking = rank_models({"pixels": X, "noise": noise}, y=y, scorers="disco")
    >>> ax = plot_ranking(ranking)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['noise', 'pixels']
    """
    plt = _pyplot()
    table = _ranking_table(ranking)
    scorer = _pick_scorer(table, scorer)
    scores = pd.to_numeric(table[scorer], errors="coerce")
    failed = [str(m) for m in scores.index[scores.isna()]]
    shown = table.loc[scores.notna()].copy()
    shown["_score"] = scores[scores.notna()]
    shown = shown.sort_values("_score", ascending=True, kind="stable")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.45 * max(len(shown), 2) + 1.2))
    names = [str(m) for m in shown.index]
    positions = np.arange(len(shown))
    parts = _contribution_columns(shown, scorer) if breakdown else []
    if parts:
        values = shown[parts].to_numpy(dtype=float)
        values = np.nan_to_num(values)
        cmap = plt.get_cmap("viridis")
        pos_left = np.zeros(len(shown))
        neg_left = np.zeros(len(shown))
        for i in range(len(parts)):
            v = values[:, i]
            left = np.where(v >= 0, pos_left, neg_left)
            ax.barh(
                positions,
                v,
                left=left,
                color=cmap(i / max(len(parts) - 1, 1)),
                label=f"component {i + 1}",
            )
            pos_left += np.where(v >= 0, v, 0)
            neg_left += np.where(v < 0, v, 0)
        ax.legend(
            loc="center left",
            bbox_to_anchor=(1.01, 0.5),
            fontsize="small",
            title="spectral group",
        )
    else:
        ax.barh(positions, shown["_score"].to_numpy(), color="tab:blue")
    ax.set_yticks(positions)
    ax.set_yticklabels(names)
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_xlabel(f"{scorer} (higher is better)")
    title = f"Ranking by {scorer}"
    if failed:
        title += f" ({len(failed)} failed: {', '.join(failed)})"
    ax.set_title(title)
    return ax


def plot_scores_vs_truth(ranking, ground_truth, scorer=None, *, dataset=None, ax=None):
    """Scatter of transferability scores against the fine-tuned ground truth.

    The weighted Kendall τ (:func:`weighted_kendall_tau`) of the models drawn is
    in the title.

    Parameters
    ----------
    ranking : pandas.DataFrame
        What :func:`rank_models` returns.
    ground_truth : pandas.Series, pandas.DataFrame or dict
        Ground truth per model, as :func:`evaluate_ranking` takes it.
    scorer : str, default=None
        Score column to plot; ``None``: the first scorer.
    dataset : str, default=None
        Row of a datasets-by-models ground-truth table.
    ax : matplotlib Axes, default=None
        Where to draw; ``None`` creates a figure.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from skdisco.selection import plot_scores_vs_truth
    >>> ranking = pd.DataFrame({"model": ["a", "b", "c"], "logme": [0.9, 0.2, 0.5],
    ...                         "logme_rank": [1, 3, 2]})
    >>> ax = plot_scores_vs_truth(ranking, {"a": 91.0, "b": 80.0, "c": 85.0})
    >>> ax.get_title()
    'logme vs ground truth: $\\\\tau_w$ = 1.000 (3 models)'
    """
    plt = _pyplot()
    table = _ranking_table(ranking)
    scorer = _pick_scorer(table, scorer)
    truth = _truth_series(ground_truth, dataset)
    scores = pd.to_numeric(table[scorer], errors="coerce")
    common = [m for m in scores.index if m in truth.index]
    s = scores.loc[common].to_numpy(dtype=float)
    t = truth.loc[common].to_numpy(dtype=float)
    keep = np.isfinite(s) & np.isfinite(t)
    names = [str(m) for m, k in zip(common, keep) if k]
    s, t = s[keep], t[keep]
    tau = weighted_kendall_tau(s, t)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4.5))
    ax.scatter(s, t, color="tab:blue")
    for name, xs, yt in zip(names, s, t):
        ax.annotate(
            name, (xs, yt), textcoords="offset points", xytext=(4, 3), fontsize="small"
        )
    ax.set_xlabel(f"{scorer} (higher is better)")
    ax.set_ylabel("ground truth (fine-tuned accuracy)")
    ax.set_title(f"{scorer} vs ground truth: $\\tau_w$ = {tau:.3f} ({len(s)} models)")
    return ax
