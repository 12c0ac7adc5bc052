"""How well a ranking of models agrees with their fine-tuned accuracy."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

from ..utils._validation import plain_value
from ..utils._warnings import user_stacklevel
from ._bootstrap import (
    bootstrap_indices,
    percentile_interval,
    replicate_pearson,
    replicate_taus,
    replicate_top_k,
)

_PAIR = {"scores": ["array-like"], "truth": ["array-like"]}


def _check_pair(scores, truth, *, min_models=2, ties=False):
    s = np.asarray(scores, dtype=np.float64).ravel()
    t = np.asarray(truth, dtype=np.float64).ravel()
    if s.shape != t.shape:
        raise ValueError(
            f"scores and truth must have one value per model; got {s.shape[0]} "
            f"scores and {t.shape[0]} truth values."
        )
    if s.shape[0] < min_models:
        raise ValueError(
            f"At least {min_models} models are needed to compare rankings; got "
            f"{s.shape[0]}."
        )
    for name, a in (("scores", s), ("truth", t)):
        if not np.all(np.isfinite(a)):
            raise ValueError(
                f"{name} contains NaN or infinity; drop the models that failed "
                "before evaluating the ranking."
            )
    if ties:
        _check_not_constant(s, t)
    return s, t


def _check_not_constant(s, t):
    """Raise a ValueError when ``scores`` or ``truth`` holds one value only."""
    if np.ptp(s) == 0:
        raise ValueError(
            f"scores are all equal ({s[0]:g} for every model): a score that ties "
            "every model cannot rank them, so its correlation with the ground "
            "truth is undefined."
        )
    if np.ptp(t) == 0:
        raise ValueError(
            f"truth is the same ({t[0]:g}) for every model: there is no order to "
            "agree with, so the correlation is undefined."
        )


@validate_params(_PAIR, prefer_skip_nested_validation=True)
def weighted_kendall_tau(scores, truth):
    r"""Weighted Kendall τ between transferability scores and the ground truth.

    The measure of ranking quality used by the model-selection literature
    (SFDA, NCTI, ETran, DISCO): Kendall's τ in which a swap among the top
    models costs more than a swap among the bottom ones. Identical to
    ``scipy.stats.weightedtau(scores, truth).statistic`` at scipy's defaults
    (hyperbolic weigher :math:`1/(r+1)`, additive weights, ``rank=True``).

    Parameters
    ----------
    scores : array-like of shape (n_models,)
        Transferability score of each model (higher is better).
    truth : array-like of shape (n_models,)
        Ground truth of each model, e.g. accuracy after fine-tuning.

    Returns
    -------
    tau : float
        In [-1, 1]; 1 when the two orders agree.

    Raises
    ------
    ValueError
        When the scores tie every model or the truth is the same for every
        model: the correlation is then undefined (scipy returns NaN).

    Notes
    -----
    With ``rank=True`` scipy averages two weighted τ: one with the weights of
    the ranks by ``scores`` and one with those by ``truth``. Each is

    .. math::
        \tau_w = \frac{\sum_{i<j} w_{ij}\,\mathrm{sgn}(s_i-s_j)\,
        \mathrm{sgn}(t_i-t_j)}{\sqrt{\sum_{i<j} w_{ij}[s_i\neq s_j]}
        \sqrt{\sum_{i<j} w_{ij}[t_i\neq t_j]}},
        \qquad w_{ij} = \frac{1}{r_i+1} + \frac{1}{r_j+1},

    with :math:`r` the rank (0 = highest) in the order concerned.

    References
    ----------
    .. [1] S. Vigna. "A Weighted Correlation Index for Rankings with Ties".
       WWW 2015.

    Examples
    --------
    >>> from skdisco.selection import weighted_kendall_tau
    >>> weighted_kendall_tau([0.9, 0.5, 0.1], [80.0, 70.0, 60.0])
    1.0
    >>> round(weighted_kendall_tau([0.9, 0.5, 0.1], [60.0, 70.0, 80.0]), 6)
    -1.0
    """
    s, t = _check_pair(scores, truth, ties=True)
    return float(stats.weightedtau(s, t).statistic)


@validate_params(_PAIR, prefer_skip_nested_validation=True)
def kendall_tau(scores, truth):
    """Kendall τ-b between transferability scores and the ground truth.

    Parameters
    ----------
    scores : array-like of shape (n_models,)
        Transferability score of each model.
    truth : array-like of shape (n_models,)
        Ground truth of each model.

    Returns
    -------
    tau : float
        ``scipy.stats.kendalltau(scores, truth).statistic`` (τ-b, ties
        corrected), in [-1, 1].

    Raises
    ------
    ValueError
        When either input is constant (scipy returns NaN there).

    Examples
    --------
    >>> from skdisco.selection import kendall_tau
    >>> round(kendall_tau([3.0, 1.0, 2.0], [30.0, 10.0, 25.0]), 6)
    1.0
    """
    s, t = _check_pair(scores, truth, ties=True)
    return float(stats.kendalltau(s, t).statistic)


@validate_params(_PAIR, prefer_skip_nested_validation=True)
def pearson_correlation(scores, truth):
    """Pearson correlation between transferability scores and the ground truth.

    Parameters
    ----------
    scores : array-like of shape (n_models,)
        Transferability score of each model.
    truth : array-like of shape (n_models,)
        Ground truth of each model.

    Returns
    -------
    r : float
        ``scipy.stats.pearsonr(scores, truth).statistic``, in [-1, 1]. Unlike
        the τ it depends on the scale of the scores, not only on their order.

    Raises
    ------
    ValueError
        When either input is constant (the correlation is undefined).

    Examples
    --------
    >>> from skdisco.selection import pearson_correlation
    >>> round(pearson_correlation([1.0, 2.0, 3.0], [10.0, 20.0, 30.0]), 6)
    1.0
    """
    s, t = _check_pair(scores, truth, ties=True)
    return float(stats.pearsonr(s, t).statistic)


@validate_params(
    {**_PAIR, "k": [Interval(Integral, 1, None, closed="left")]},
    prefer_skip_nested_validation=True,
)
def top_k_relative_accuracy(scores, truth, *, k=1):
    r"""Best ground truth among the top-k models by score, relative to the best.

    The practical question behind a ranking: if I fine-tune only the ``k``
    models the score likes best, how close do I get to the best model?

    .. math::
        \mathrm{rel@}k = \frac{\max_{i \in \mathrm{top}_k(s)} t_i}{\max_i t_i}

    Parameters
    ----------
    scores : array-like of shape (n_models,)
        Transferability score of each model (higher is better).
    truth : array-like of shape (n_models,)
        Ground truth of each model, positive and higher-is-better (e.g.
        accuracy).
    k : int, default=1
        Number of top-scored models fine-tuned. ``k`` at least the number of
        models gives 1.

    Returns
    -------
    relative_accuracy : float
        In (0, 1]; 1 when the best model is among the top ``k``.

    Raises
    ------
    ValueError
        With fewer than two models (one model is trivially the best: there is
        no selection to evaluate), or a truth that is not positive.

    Notes
    -----
    The top ``k`` are the ``k`` highest scores; models with equal scores keep
    the order in which they were given (a stable sort), so ties at the k-th
    place are broken by that order. The truth must be positive for the ratio to
    be meaningful; a ValueError says so otherwise.

    Examples
    --------
    >>> from skdisco.selection import top_k_relative_accuracy
    >>> scores, truth = [0.9, 0.8, 0.1], [90.0, 95.0, 70.0]
    >>> round(top_k_relative_accuracy(scores, truth, k=1), 4)
    0.9474
    >>> top_k_relative_accuracy(scores, truth, k=2)
    1.0
    """
    s, t = _check_pair(scores, truth)
    if np.any(t <= 0):
        raise ValueError(
            "truth must be positive (an accuracy) for a relative accuracy; got "
            f"a minimum of {plain_value(t.min())!r}."
        )
    top = np.argsort(-s, kind="stable")[:k]
    return float(t[top].max() / t.max())


def _truth_series(ground_truth, dataset):
    """The ground truth as a float Series indexed by model name."""
    if isinstance(ground_truth, pd.Series):
        truth = ground_truth
    elif isinstance(ground_truth, pd.DataFrame):
        if dataset is not None:
            if dataset not in ground_truth.index:
                raise ValueError(
                    f"dataset {plain_value(dataset)!r} is not a row of the ground "
                    f"truth; rows are {list(ground_truth.index)}."
                )
            truth = ground_truth.loc[dataset]
        elif ground_truth.shape[0] == 1:
            truth = ground_truth.iloc[0]
        elif {"model", "accuracy"} <= set(ground_truth.columns):
            truth = ground_truth.set_index("model")["accuracy"]
        else:
            raise ValueError(
                "ground_truth has several rows; pass dataset=<row name> (for a "
                "table of datasets by models such as load_finetune_benchmark()), "
                "or a table with 'model' and 'accuracy' columns."
            )
    elif isinstance(ground_truth, dict):
        truth = pd.Series(ground_truth)
    else:
        raise ValueError(
            "ground_truth must be a pandas Series or DataFrame, or a dict model -> "
            f"value; got {type(ground_truth).__name__}."
        )
    return pd.to_numeric(truth, errors="coerce").astype("float64")


def _ranking_table(ranking):
    if not isinstance(ranking, pd.DataFrame):
        raise ValueError(
            "ranking must be a pandas DataFrame such as rank_models returns; got "
            f"{type(ranking).__name__}."
        )
    if "model" in ranking.columns:
        ranking = ranking.set_index("model")
    return ranking


def score_columns(ranking):
    """Names of the score columns of a ranking table (those with a ``_rank`` twin)."""
    columns = list(ranking.columns)
    return [c for c in columns if f"{c}_rank" in columns]


def _controls_table(controls):
    """Data-free control scores as a float table, one column per control."""
    if isinstance(controls, dict):
        controls = pd.DataFrame(
            {name: pd.Series(values) for name, values in controls.items()}
        )
    elif not isinstance(controls, pd.DataFrame):
        raise ValueError(
            "controls must be a pandas DataFrame (one row per model, one column "
            "per control) or a dict control name -> {model: value}; got "
            f"{type(controls).__name__}."
        )
    if "model" in controls.columns:
        controls = controls.set_index("model")
    if controls.shape[1] == 0:
        raise ValueError("controls has no columns: name at least one control.")
    return controls.apply(pd.to_numeric, errors="coerce").astype("float64")


def _measure_columns(ks):
    columns = ["weighted_kendall_tau", "kendall_tau", "pearson"]
    return columns + [f"top{kk}_relative_accuracy" for kk in ks]


@validate_params(
    {
        "ranking": [pd.DataFrame],
        "ground_truth": [pd.Series, pd.DataFrame, dict],
        "scorers": [list, tuple, str, None],
        "dataset": [str, None],
        "k": [list, tuple, Interval(Integral, 1, None, closed="left")],
        "controls": [pd.DataFrame, dict, None],
        "n_bootstrap": [Interval(Integral, 0, None, closed="left")],
        "confidence": [Interval(Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def evaluate_ranking(
    ranking,
    ground_truth,
    *,
    scorers=None,
    dataset=None,
    k=(1, 3),
    controls=None,
    n_bootstrap=0,
    confidence=0.95,
    random_state=0,
):
    """Evaluate every score of a ranking table against a ground-truth table.

    Parameters
    ----------
    ranking : pandas.DataFrame
        A table of scores, one row per model: what :func:`rank_models` returns
        (a ``model`` column, or model names as the index).
    ground_truth : pandas.Series, pandas.DataFrame or dict
        Fine-tuned accuracy per model: a Series or dict model -> value, a table
        of datasets by models (:func:`skdisco.datasets.load_finetune_benchmark`;
        choose the row with ``dataset``), or a table with ``model`` and
        ``accuracy`` columns.
    scorers : str or list of str, default=None
        Score columns to evaluate; ``None``: every column with a ``_rank``
        twin (every scorer :func:`rank_models` ran).
    dataset : str, default=None
        Row of a datasets-by-models ground-truth table.
    k : int or list of int, default=(1, 3)
        The ``k`` of :func:`top_k_relative_accuracy` to report.
    controls : pandas.DataFrame or dict, default=None
        Data-free rankings a score must beat: one column per control (a
        ``model`` column or model names as the index), or a dict control name
        -> {model: value}; higher is predicted better (e.g. parameter count,
        feature dimension, source-task accuracy;
        :func:`skdisco.datasets.load_finetune_controls` for the published hub).
        Each control is evaluated like a scorer, in a row of kind
        ``"control"``.
    n_bootstrap : int, default=0
        Number of bootstrap replicates (candidate models resampled with
        replacement; rows over the same models share the replicates) for an
        interval of
        each measure; 0: no intervals.
    confidence : float, default=0.95
        Coverage of the percentile bootstrap intervals.
    random_state : int, RandomState instance or None, default=0
        Seed of the bootstrap replicates.

    Returns
    -------
    evaluation : pandas.DataFrame
        One row per scorer (index ``scorer``) with columns
        ``weighted_kendall_tau``, ``kendall_tau``, ``pearson``,
        ``top<k>_relative_accuracy`` for each ``k``, ``n_models`` (the
        models with both a finite score and a ground truth; the others --
        failed models, models missing from the ground truth -- are left out)
        and ``kind`` (``"score"``, or ``"control"`` for the rows of
        ``controls``). With ``controls``, ``beats_best_control`` (score rows;
        NA on control rows): whether the row's weighted τ is above that of
        every control. With ``n_bootstrap > 0``, ``<measure>_low`` and
        ``<measure>_high`` for every measure. A scorer whose scores tie every
        model (a saturated score), or a ground truth equal for every model,
        gets NaN in every metric, with a UserWarning naming it: the other
        scorers are still evaluated.

    Raises
    ------
    ValueError
        If fewer than two models have both a score and a ground truth, a
        named scorer is not a column, or a control has the name of a scorer.

    See Also
    --------
    summarize_evaluation : Mean weighted τ over several targets, with intervals.
    compare_scorers : Whether one scorer beats another, with a paired interval.

    Notes
    -----
    The intervals are percentile intervals over replicates on which the
    measure is defined (a replicate that draws only tied scores is dropped).
    A replicate holds duplicated models; a duplicate ties with its copy in
    both the scores and the truth, which Vigna's weighted τ counts as neither
    agreement nor disagreement.

    Examples
    --------
    >>> import pandas as pd
    >>> from skdisco.selection import evaluate_ranking
    >>> ranking = pd.DataFrame({"model": ["a", "b", "c"],
    ...                         "logme": [0.9, 0.2, 0.5], "logme_rank": [1, 3, 2]})
    >>> truth = {"a": 91.0, "b": 80.0, "c": 85.0}
    >>> result = evaluate_ranking(ranking, truth, k=1)
    >>> result.loc["logme", ["weighted_kendall_tau", "top1_relative_accuracy"]].tolist()
    [1.0, 1.0]

    A data-free control (bigger models first) and bootstrap intervals:

    >>> params = {"n_params": {"a": 5e6, "b": 25e6, "c": 11e6}}
    >>> result = evaluate_ranking(ranking, truth, k=1, controls=params,
    ...                           n_bootstrap=200)
    >>> result["kind"].tolist(), result["weighted_kendall_tau"].round(6).tolist()
    (['score', 'control'], [1.0, -1.0])
    >>> bool(result.loc["logme", "beats_best_control"])
    True
    >>> low = result.loc["n_params", "weighted_kendall_tau_low"]
    >>> high = result.loc["n_params", "weighted_kendall_tau_high"]
    >>> print(round(low, 6), round(high, 6))  # any resample of a reversed order
    -1.0 -1.0
    """
    table = _ranking_table(ranking)
    truth = _truth_series(ground_truth, dataset)
    if scorers is None:
        scorers = score_columns(table)
        if not scorers:
            raise ValueError(
                "ranking has no score columns (columns with a '<name>_rank' twin); "
                "pass scorers=[...] naming them."
            )
    elif isinstance(scorers, str):
        scorers = [scorers]
    ks = [k] if isinstance(k, Integral) else list(k)
    columns = {}
    for name in scorers:
        if name not in table.columns:
            raise ValueError(
                f"{plain_value(name)!r} is not a column of the ranking; columns are "
                f"{list(table.columns)}."
            )
        columns[name] = (table[name], "score")
    if controls is not None:
        control_table = _controls_table(controls)
        for name in control_table.columns:
            if name in columns:
                raise ValueError(
                    f"control {plain_value(name)!r} has the name of a scorer; "
                    "rename it."
                )
            columns[name] = (control_table[name], "control")
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    rows = {}
    for name, (values, kind) in columns.items():
        scores = pd.to_numeric(values, errors="coerce").astype("float64")
        common = [m for m in scores.index if m in truth.index]
        s = scores.loc[common].to_numpy()
        t = truth.loc[common].to_numpy()
        keep = np.isfinite(s) & np.isfinite(t)
        s, t = s[keep], t[keep]
        if s.shape[0] < 2:
            raise ValueError(
                f"Only {s.shape[0]} model(s) have both a finite {name!r} score and "
                f"a ground truth (ranking models: {list(scores.index)}; ground "
                f"truth models: {list(truth.index)}). Model names must match."
            )
        row = _evaluation_row(name, s, t, ks)
        row["n_models"] = int(s.shape[0])
        row["kind"] = kind
        if n_bootstrap > 0:
            row.update(_bootstrap_row(s, t, ks, n_bootstrap, confidence, seed))
        rows[name] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "scorer"
    if controls is not None:
        out["beats_best_control"] = _beats_best_control(out)
    return out


def _beats_best_control(evaluation):
    """Score rows: weighted τ above every control's; NA on control rows."""
    tau = evaluation["weighted_kendall_tau"]
    is_control = evaluation["kind"] == "control"
    best = tau[is_control].max()
    beats = pd.Series(pd.NA, index=evaluation.index, dtype="boolean")
    scores = ~is_control
    beats[scores] = (tau[scores] > best).to_numpy() if np.isfinite(best) else pd.NA
    beats[scores & tau.isna()] = pd.NA
    return beats


def _bootstrap_row(s, t, ks, n_bootstrap, confidence, seed):
    """``<measure>_low`` / ``<measure>_high`` of one row from resampled models."""
    idx = bootstrap_indices(s.shape[0], n_bootstrap, seed)
    reps = {
        "weighted_kendall_tau": replicate_taus(s[None], t, idx)[0],
        "kendall_tau": replicate_taus(s[None], t, idx, weighted=False)[0],
        "pearson": replicate_pearson(s, t, idx),
    }
    for kk in ks:
        top = np.full(n_bootstrap, np.nan)
        if np.all(t > 0):
            top = replicate_top_k(s, t, idx, kk)
        reps[f"top{kk}_relative_accuracy"] = top
    row = {}
    for measure in _measure_columns(ks):
        low, high = percentile_interval(reps[measure], confidence)
        row[f"{measure}_low"], row[f"{measure}_high"] = float(low), float(high)
    return row


def _evaluation_row(name, s, t, ks):
    """The metrics of one score column; NaN, with a warning, where undefined."""
    columns = _measure_columns(ks)
    try:
        _check_not_constant(s, t)
    except ValueError as exc:
        warnings.warn(
            f"{name!r} cannot be evaluated: {exc} Its row is NaN.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
        return dict.fromkeys(columns, float("nan"))
    row = {
        "weighted_kendall_tau": weighted_kendall_tau(s, t),
        "kendall_tau": kendall_tau(s, t),
        "pearson": pearson_correlation(s, t),
    }
    for kk in ks:
        row[f"top{kk}_relative_accuracy"] = top_k_relative_accuracy(s, t, k=kk)
    return row
