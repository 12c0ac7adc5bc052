"""Evidence over several targets: mean weighted τ with intervals, paired
differences, and settings chosen leave-one-target-out."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, validate_params

from ..utils._validation import plain_value
from ._bootstrap import bootstrap_indices, percentile_interval, replicate_taus

_LONG = ("target", "model", "scorer", "score")

_COMMON_PARAMS = {
    "scores": [pd.DataFrame],
    "ground_truth": [pd.DataFrame],
    "truth": [str],
    "controls": [list, tuple, pd.DataFrame, None],
    "selections": [dict, None],
    "n_bootstrap": [Interval(Integral, 1, None, closed="left")],
    "confidence": [Interval(Real, 0, 1, closed="neither")],
    "random_state": ["random_state"],
}


def _check_long(table, name, columns):
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(
            f"{name} must have columns {list(columns)}; missing {missing} (columns "
            f"are {list(table.columns)})."
        )


def _long_controls(controls, scores):
    """Controls as long rows (target, model, scorer, score) and their names."""
    if controls is None:
        return scores.iloc[:0], []
    if isinstance(controls, (list, tuple)):
        names = list(controls)
        unknown = [c for c in names if c not in set(scores["scorer"])]
        if unknown:
            raise ValueError(
                f"controls {unknown} are not scorers of the scores table; name "
                "scorers of its 'scorer' column or pass a table of controls."
            )
        return scores.iloc[:0], names
    if "target" in controls.columns:
        _check_long(controls, "controls", _LONG)
        long = controls[list(_LONG)]
    else:  # one row per model, one column per control, the same on every target
        wide = controls.set_index("model") if "model" in controls.columns else controls
        wide = wide.rename_axis("model").reset_index()
        melted = wide.melt(id_vars="model", var_name="scorer", value_name="score")
        targets = pd.DataFrame({"target": scores["target"].unique()})
        long = targets.merge(melted, how="cross")[list(_LONG)]
    names = list(dict.fromkeys(long["scorer"]))
    clash = [c for c in names if c in set(scores["scorer"])]
    if clash:
        raise ValueError(f"controls {clash} have the names of scorers; rename them.")
    return long, names


def _target_replicates(
    scores, ground_truth, truth, controls, selections, n_bootstrap, random_state
):
    """Per-target τ_w of every row, point and bootstrap (stratified, paired).

    Returns names, kinds, targets, point (n_rows, n_targets) and replicates
    (n_rows, n_targets, n_bootstrap); NaN where a row is not defined.
    """
    _check_long(scores, "scores", _LONG)
    _check_long(ground_truth, "ground_truth", ("target", "model", truth))
    extra, control_names = _long_controls(controls, scores)
    table = pd.concat([scores[list(_LONG)], extra], ignore_index=True)
    table["score"] = pd.to_numeric(table["score"], errors="coerce")
    names = list(dict.fromkeys(table["scorer"]))
    kinds = ["control" if n in control_names else "score" for n in names]
    gt = ground_truth[["target", "model", truth]].copy()
    gt[truth] = pd.to_numeric(gt[truth], errors="coerce")
    targets = [t for t in dict.fromkeys(table["target"]) if t in set(gt["target"])]
    if not targets:
        raise ValueError(
            "No target of the scores table is a target of the ground truth; "
            f"scores targets: {list(dict.fromkeys(table['target']))}."
        )
    rng = check_random_state(random_state)
    point = np.full((len(names), len(targets)), np.nan)
    reps = np.full((len(names), len(targets), n_bootstrap), np.nan)
    for g, target in enumerate(targets):
        t = gt[gt["target"] == target].dropna().drop_duplicates("model")
        t = t.set_index("model")[truth]
        block = table[table["target"] == target]
        wide = block.pivot_table(
            index="scorer",
            columns="model",
            values="score",
            aggfunc="first",
            dropna=False,
        )
        wide = wide.reindex(index=names, columns=t.index)
        s = np.array(wide.to_numpy(dtype=np.float64))
        s[~np.isfinite(s)] = np.nan
        n = t.shape[0]
        if n < 2:
            continue
        idx = bootstrap_indices(n, n_bootstrap, rng.randint(np.iinfo(np.int32).max))
        tv = t.to_numpy(dtype=np.float64)
        point[:, g] = replicate_taus(s, tv, np.arange(n)[None])[:, 0]
        reps[:, g] = replicate_taus(s, tv, idx)
        reps[np.isnan(point[:, g]), g] = np.nan  # undefined on the target itself
    for name, settings in (selections or {}).items():
        unknown = [c for c in settings if c not in names]
        if unknown or not settings:
            raise ValueError(
                f"selection {plain_value(name)!r} must name scorers of the scores "
                f"table; unknown: {unknown or 'no settings given'}."
            )
        rows = [names.index(c) for c in settings]
        point = np.vstack([point, _loto(point[rows])[0][None]])
        held = _loto(np.moveaxis(reps[rows], -1, 0))[0]  # (n_bootstrap, n_targets)
        reps = np.concatenate([reps, held.T[None]], axis=0)
        names.append(name)
        kinds.append("loto")
    return names, kinds, targets, point, reps


def _loto(values):
    """Leave-one-target-out choice over settings (axis -2) for each target.

    ``values`` has shape (..., n_settings, n_targets), NaN where a setting has
    no value. Returns the held-out value of the chosen setting (..., n_targets)
    and the chosen setting's index (..., n_targets); a setting must have a value
    on the held-out target to be chosen; ties go to the first setting.
    """
    v = np.asarray(values, dtype=np.float64)
    present = np.isfinite(v)
    total = np.where(present, v, 0.0).sum(axis=-1, keepdims=True)
    count = present.sum(axis=-1, keepdims=True)
    other_total = total - np.where(present, v, 0.0)
    other_count = count - present
    with np.errstate(invalid="ignore", divide="ignore"):
        train = other_total / other_count
    train = np.where(present & (other_count > 0), train, -np.inf)
    chosen = np.argmax(train, axis=-2)  # (..., n_targets)
    held = np.take_along_axis(v, chosen[..., None, :], axis=-2)[..., 0, :]
    held = np.where(np.isfinite(np.max(train, axis=-2)), held, np.nan)
    return held, chosen


def _mean_over_targets(point, reps):
    """Each row's mean over the targets where it is defined, point and replicates."""
    defined = np.isfinite(point)
    n_targets = defined.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(defined, point, 0.0).sum(axis=1) / n_targets
        rep_mean = (
            np.where(defined[..., None], reps, 0.0).sum(axis=1) / n_targets[:, None]
        )
    # a replicate on which a defined target became undefined is dropped
    lost = (defined[..., None] & ~np.isfinite(reps)).any(axis=1)
    rep_mean[lost] = np.nan
    mean[n_targets == 0] = np.nan
    return mean, rep_mean, n_targets


@validate_params(_COMMON_PARAMS, prefer_skip_nested_validation=True)
def summarize_evaluation(
    scores,
    ground_truth,
    *,
    truth="accuracy",
    controls=None,
    selections=None,
    n_bootstrap=1000,
    confidence=0.95,
    random_state=0,
):
    r"""Mean weighted τ of every scorer over several targets, with intervals.

    For every scorer (and control) the weighted Kendall τ against the ground
    truth is computed on each target, then averaged over the targets the
    scorer was evaluated on. The interval comes from a stratified bootstrap:
    each replicate resamples each target's candidate models with replacement
    and recomputes every scorer's τ_w on that same replicate, so the rows
    (and their differences, :func:`compare_scorers`) are paired.

    Parameters
    ----------
    scores : pandas.DataFrame
        Long table with columns ``target``, ``model``, ``scorer`` and
        ``score`` (higher is better), one row per target, model and scorer.
    ground_truth : pandas.DataFrame
        Long table with columns ``target``, ``model`` and ``truth``.
    truth : str, default="accuracy"
        Column of ``ground_truth`` to evaluate against.
    controls : list of str or pandas.DataFrame, default=None
        Data-free rankings a score must beat (higher predicted better): names
        of scorers of ``scores`` that are controls, a long table like
        ``scores``, or a table with one row per model (a ``model`` column or
        index) and one column per control, the same on every target.
    selections : dict, default=None
        ``{row name: [scorer, ...]}``: rows of kind ``"loto"`` whose value on
        each target is that of the setting chosen on the other targets
        (:func:`leave_one_target_out`), the choice made again on every
        replicate.
    n_bootstrap : int, default=1000
        Number of bootstrap replicates.
    confidence : float, default=0.95
        Coverage of the percentile intervals.
    random_state : int, RandomState instance or None, default=0
        Seed of the replicates.

    Returns
    -------
    summary : pandas.DataFrame
        Index ``scorer``; columns ``kind`` (``"score"``, ``"control"`` or
        ``"loto"``), ``mean_tau_w``, ``ci_low``, ``ci_high``, ``n_targets``
        (targets where the row is defined) and, with controls,
        ``targets_beating_best_control`` (targets on which its τ_w is above
        every control's). Sorted by ``mean_tau_w``, best first.

    Raises
    ------
    ValueError
        If a table misses a column, no target has a ground truth, or a
        control or selection names an unknown scorer.

    See Also
    --------
    evaluate_ranking : Every measure on one target, with controls and intervals.
    compare_scorers : Paired difference of two rows' mean τ_w.
    leave_one_target_out : The selection behind the ``"loto"`` rows.

    Notes
    -----
    A scorer that ties every candidate on a target (or a target whose truth
    is constant) is not evaluated there; a replicate on which one of the
    scorer's targets draws only ties is dropped from that scorer's interval.
    The interval is the percentile interval of the replicates' means,

    .. math::
        \bar\tau^{(b)} = \frac{1}{G}\sum_{g=1}^G \tau_w\bigl(s_g[I^{(b)}_g],
        t_g[I^{(b)}_g]\bigr),

    with :math:`I^{(b)}_g` the candidates drawn for target :math:`g` in
    replicate :math:`b`.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skdisco.selection import summarize_evaluation
    >>> rng = np.random.default_rng(0)
    >>> rows, truth = [], []
    >>> for target in ["t1", "t2", "t3"]:
    ...     acc = rng.uniform(0.5, 0.9, 12)
    ...     for m in range(12):
    ...         truth.append({"target": target, "model": m, "accuracy": acc[m]})
    ...         rows.append({"target": target, "model": m, "scorer": "good",
    ...                      "score": acc[m] + rng.normal(scale=0.02)})
    ...         rows.append({"target": target, "model": m, "scorer": "noise",
    ...                      "score": rng.normal()})
    >>> summary = summarize_evaluation(pd.DataFrame(rows), pd.DataFrame(truth),
    ...                                controls=["noise"], n_bootstrap=200)
    >>> summary["kind"].to_dict()
    {'good': 'score', 'noise': 'control'}
    >>> summary["targets_beating_best_control"].tolist()
    [3, <NA>]
    >>> bool(summary.loc["good", "ci_low"] > summary.loc["noise", "ci_high"])
    True
    """
    names, kinds, targets, point, reps = _target_replicates(
        scores, ground_truth, truth, controls, selections, n_bootstrap, random_state
    )
    mean, rep_mean, n_targets = _mean_over_targets(point, reps)
    low, high = percentile_interval(rep_mean, confidence, axis=1)
    out = pd.DataFrame(
        {
            "kind": kinds,
            "mean_tau_w": mean,
            "ci_low": low,
            "ci_high": high,
            "n_targets": n_targets.astype(int),
        },
        index=pd.Index(names, name="scorer"),
    )
    is_control = np.array([k == "control" for k in kinds])
    if is_control.any():
        with np.errstate(invalid="ignore"):
            best = np.nanmax(np.where(is_control[:, None], point, -np.inf), axis=0)
            beats = (point > best[None]) & np.isfinite(best)[None]
        counts = pd.Series(beats.sum(axis=1), index=out.index, dtype="Int64")
        counts[is_control] = pd.NA
        out["targets_beating_best_control"] = counts
    return out.sort_values("mean_tau_w", ascending=False, kind="stable")


@validate_params(
    {**_COMMON_PARAMS, "pairs": [list, tuple, None]},
    prefer_skip_nested_validation=True,
)
def compare_scorers(
    scores,
    ground_truth,
    *,
    pairs=None,
    truth="accuracy",
    controls=None,
    selections=None,
    n_bootstrap=1000,
    confidence=0.95,
    random_state=0,
):
    """Paired difference of mean weighted τ between scorers, with an interval.

    The difference is called significant only when its bootstrap interval
    excludes zero. Replicates are those of :func:`summarize_evaluation`
    (stratified by target, shared by every scorer, so the interval is of the
    paired difference, much narrower than the two intervals side by side).

    Parameters
    ----------
    scores : pandas.DataFrame
        Long table with columns ``target``, ``model``, ``scorer``, ``score``.
    ground_truth : pandas.DataFrame
        Long table with columns ``target``, ``model`` and ``truth``.
    pairs : list of (str, str), default=None
        The ``(a, b)`` pairs to compare (``a`` minus ``b``); ``None``: every
        pair of rows.
    truth : str, default="accuracy"
        Column of ``ground_truth`` to evaluate against.
    controls : list of str or pandas.DataFrame, default=None
        Data-free controls, as for :func:`summarize_evaluation`.
    selections : dict, default=None
        Leave-one-target-out rows, as for :func:`summarize_evaluation`.
    n_bootstrap : int, default=1000
        Number of bootstrap replicates.
    confidence : float, default=0.95
        Coverage of the percentile interval of each difference.
    random_state : int, RandomState instance or None, default=0
        Seed of the replicates (the same seed as a summary gives the same
        replicates).

    Returns
    -------
    comparison : pandas.DataFrame
        One row per pair: ``scorer_a``, ``scorer_b``, ``mean_difference``
        (mean over the targets both are defined on of τ_w(a) - τ_w(b)),
        ``ci_low``, ``ci_high``, ``significant`` (the interval excludes zero)
        and ``n_targets``.

    Raises
    ------
    ValueError
        If a pair names an unknown row or the two rows share no target.

    See Also
    --------
    summarize_evaluation : Each row's mean τ_w with its interval.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skdisco.selection import compare_scorers
    >>> rng = np.random.default_rng(0)
    >>> grid = pd.MultiIndex.from_product([["t1", "t2", "t3"], range(12)],
    ...                                   names=["target", "model"])
    >>> truth = pd.DataFrame({"accuracy": rng.uniform(0.5, 0.9, 36)}, index=grid)
    >>> truth = truth.reset_index()
    >>> scores = pd.concat([
    ...     truth.assign(scorer=name, score=truth["accuracy"]
    ...                  + rng.normal(scale=noise, size=36))
    ...     for name, noise in [("sharp", 0.01), ("blurred", 0.3)]])
    >>> result = compare_scorers(scores, truth, pairs=[("sharp", "blurred")],
    ...                          n_bootstrap=200)
    >>> result[["scorer_a", "scorer_b", "significant", "n_targets"]]
      scorer_a scorer_b  significant  n_targets
    0    sharp  blurred         True          3
    """
    names, _, _, point, reps = _target_replicates(
        scores, ground_truth, truth, controls, selections, n_bootstrap, random_state
    )
    if pairs is None:
        pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    rows = []
    for pair in pairs:
        if len(pair) != 2 or any(p not in names for p in pair):
            raise ValueError(f"pair {pair!r} must name two rows among {names}.")
        ia, ib = names.index(pair[0]), names.index(pair[1])
        both = np.isfinite(point[ia]) & np.isfinite(point[ib])
        if not both.any():
            raise ValueError(
                f"{pair[0]!r} and {pair[1]!r} are not defined on a common target."
            )
        diff_point = (point[ia] - point[ib])[None]
        diff_reps = (reps[ia] - reps[ib])[None]
        keep = np.where(both, diff_point, np.nan)
        mean, rep_mean, n_targets = _mean_over_targets(
            keep, np.where(both[:, None], diff_reps[0], np.nan)[None]
        )
        low, high = percentile_interval(rep_mean[0], confidence)
        rows.append(
            {
                "scorer_a": pair[0],
                "scorer_b": pair[1],
                "mean_difference": float(mean[0]),
                "ci_low": float(low),
                "ci_high": float(high),
                "significant": bool(low > 0 or high < 0),
                "n_targets": int(n_targets[0]),
            }
        )
    return pd.DataFrame(rows)


@validate_params(
    {"values": [pd.DataFrame], "higher_is_better": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def leave_one_target_out(values, *, higher_is_better=True):
    """Choose a setting on the other targets, report it on the held-out one.

    How a default chosen by benchmark is reported honestly: for each target,
    the setting with the best mean over the *other* targets is chosen, and its
    value on the held-out target is what counts. The mean of those held-out
    values is the leave-one-target-out (LOTO) estimate of what the selection
    procedure reaches on a new target; the in-sample best mean is optimistic
    by construction.

    Parameters
    ----------
    values : pandas.DataFrame
        One row per setting (index: setting names), one column per target;
        e.g. the mean weighted τ of each DISCO setting per target. NaN where a
        setting was not evaluated; such a setting cannot be chosen for that
        target.
    higher_is_better : bool, default=True
        Whether larger values are better.

    Returns
    -------
    result : sklearn.utils.Bunch
        ``choices``: DataFrame indexed by target with the ``chosen`` setting
        and its ``held_out`` value; ``mean``: the mean held-out value (the LOTO
        estimate); ``in_sample_best``: the setting with the best mean over all
        targets; ``in_sample_mean``: that mean.

    Raises
    ------
    ValueError
        With fewer than two targets (nothing is left to choose on), or a
        table without a finite value.

    See Also
    --------
    summarize_evaluation : LOTO rows with bootstrap intervals (``selections``).

    Notes
    -----
    The mean over the other targets skips a setting's missing values. Ties go
    to the setting listed first.

    Examples
    --------
    >>> import pandas as pd
    >>> from skdisco.selection import leave_one_target_out
    >>> values = pd.DataFrame({"t1": [0.9, 0.1], "t2": [0.2, 0.5],
    ...                        "t3": [0.8, 0.6]}, index=["a", "b"])
    >>> result = leave_one_target_out(values)
    >>> result.choices
       chosen  held_out
    t1      b       0.1
    t2      a       0.2
    t3      a       0.8
    >>> round(result.mean, 4), result.in_sample_best, round(result.in_sample_mean, 4)
    (0.3667, 'a', 0.6333)
    """
    if values.shape[1] < 2:
        raise ValueError(
            "leave_one_target_out needs at least two targets (columns); got "
            f"{values.shape[1]}."
        )
    v = values.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    if not np.isfinite(v).any():
        raise ValueError("values has no finite value to choose from.")
    sign = 1.0 if higher_is_better else -1.0
    held, chosen = _loto(sign * v)
    names = [values.index[c] if np.isfinite(h) else None for c, h in zip(chosen, held)]
    choices = pd.DataFrame(
        {"chosen": pd.Series(names, dtype=object).to_numpy(), "held_out": sign * held},
        index=values.columns,
    )
    with np.errstate(invalid="ignore"):
        means = np.nanmean(np.where(np.isfinite(v), sign * v, np.nan), axis=1)
    best = int(np.nanargmax(means))
    return Bunch(
        choices=choices,
        mean=float(np.nanmean(choices["held_out"].to_numpy(dtype=np.float64))),
        in_sample_best=values.index[best],
        in_sample_mean=float(sign * means[best]),
    )
