"""Rank aggregation: one ranking from several scorers' rankings."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import StrOptions, validate_params

from ..utils._validation import plain_value

_METHODS = ("mean_rank", "borda", "mean_zscore")


@validate_params(
    {
        "ranking": [pd.DataFrame],
        "scorers": [list, tuple],
        "method": [StrOptions(set(_METHODS))],
        "name": [str, None],
    },
    prefer_skip_nested_validation=True,
)
def rank_aggregate(ranking, scorers, *, method="mean_rank", name=None):
    r"""Combine several scorers of a ranking table into one score.

    Scores of different methods live on incomparable scales (LogME's evidence
    per sample, a probe's accuracy, NCTI's sum of terms); their ranks do not.
    The aggregate is a new score column, higher is better, with its ``_rank``
    twin, so the result can be evaluated like any scorer
    (:func:`evaluate_ranking`).

    Parameters
    ----------
    ranking : pandas.DataFrame
        A table of scores, one row per model, such as :func:`rank_models`
        returns.
    scorers : list of str
        Score columns to combine (at least two).
    method : {"mean_rank", "borda", "mean_zscore"}, default="mean_rank"
        ``"mean_rank"``: minus the mean over scorers of each model's rank
        (1 = best; tied models share their average rank). ``"borda"``: the
        Borda count, the number of models each scorer places below the model
        (a tie counts half), summed over scorers. ``"mean_zscore"``: mean of
        each scorer's standardised scores (zero mean, unit standard deviation
        over models); unlike the ranks it keeps how far apart the models are.
    name : str, default=None
        Name of the new column; ``None``: ``"<method>(<scorer>+...)"``.

    Returns
    -------
    ranking : pandas.DataFrame
        A copy of ``ranking`` with the columns ``name`` (float, NaN for a model
        no member scored) and ``<name>_rank`` (1 = best).

    Raises
    ------
    ValueError
        If fewer than two scorers are named, one is not a column, or a
        scorer ties every model under ``"mean_zscore"``.

    See Also
    --------
    evaluate_ranking : Evaluate the aggregate against fine-tuned accuracy.
    leave_one_target_out : Choose members and method honestly across targets.

    Notes
    -----
    A model a member could not score (NaN) is left out of that member's
    ranks; its aggregate is over the members that scored it (for
    ``"borda"``, it simply collects no points from that member). With no
    missing scores, ``"mean_rank"`` and ``"borda"`` give the same order:
    a model's Borda count from one scorer with ``n`` models is :math:`n - r`
    for its average rank :math:`r`, so the sum is affine in the mean rank.

    Examples
    --------
    >>> import pandas as pd
    >>> from skdisco.selection import rank_aggregate
    >>> ranking = pd.DataFrame({"model": ["a", "b", "c"],
    ...                         "logme": [2.0, 1.0, 3.0], "knn": [0.9, 0.8, 0.1]})
    >>> out = rank_aggregate(ranking, ["logme", "knn"])
    >>> out[["model", "mean_rank(logme+knn)", "mean_rank(logme+knn)_rank"]]
      model  mean_rank(logme+knn)  mean_rank(logme+knn)_rank
    0     a                  -1.5                          1
    1     b                  -2.5                          3
    2     c                  -2.0                          2
    """
    scorers = list(scorers)
    if len(scorers) < 2:
        raise ValueError(
            f"rank_aggregate combines at least two scorers; got {scorers}."
        )
    for s in scorers:
        if s not in ranking.columns:
            raise ValueError(
                f"{plain_value(s)!r} is not a column of the ranking; columns are "
                f"{list(ranking.columns)}."
            )
    values = ranking[scorers].apply(pd.to_numeric, errors="coerce").astype("float64")
    values = values.where(np.isfinite(values))
    if method == "mean_rank":
        combined = -values.rank(ascending=False, method="average").mean(axis=1)
    elif method == "borda":
        below = values.rank(ascending=True, method="average") - 1.0
        combined = below.sum(axis=1, min_count=1)
    else:
        std = values.std(axis=0, ddof=0)
        flat = [s for s in scorers if not std[s] > 0]
        if flat:
            raise ValueError(
                f"{flat} tie every model: their standardised scores are undefined."
            )
        combined = ((values - values.mean(axis=0)) / std).mean(axis=1)
    name = name or f"{method}({'+'.join(scorers)})"
    out = ranking.copy()
    out[name] = combined.astype("float64").to_numpy()
    out[f"{name}_rank"] = out[name].rank(ascending=False, method="min").astype("Int64")
    return out
