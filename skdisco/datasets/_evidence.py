"""The zoo benchmark's evidence on which score to trust, as shipped data."""

from __future__ import annotations

from importlib import resources

SCORES_FILE = "score_evidence.csv"
TARGETS_FILE = "score_evidence_targets.csv"

_SCORE_COLUMNS = (
    "scorer", "kind", "mean_tau_w", "ci_low", "ci_high", "n_targets",
    "targets_beating_best_control", "tasks", "mean_tau_w_classification",
    "mean_tau_w_regression",
)
_TARGET_COLUMNS = (
    "target", "task", "n_train", "n_classes", "samples_per_class_min",
    "samples_per_class_max", "feature_width_min", "feature_width_max",
)


def _read(name, columns):
    import pandas as pd

    with resources.files(__package__).joinpath("data", name).open("rb") as f:
        table = pd.read_csv(f)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"The shipped {name} lacks the columns {missing}.")
    return table[list(columns)]


def load_score_evidence():
    """How well each score ranked the zoo benchmark's candidates, and on what.

    The numbers ``docs/choosing_a_score.md`` and ``skdisco rank``'s evidence
    line are read from: the zoo benchmark (``benchmarks/zoo/run.py``, full
    profile), written by ``benchmarks/zoo/score_evidence.py`` from the
    benchmark's ``summary_ci.csv``; regenerate them with that script.

    Returns
    -------
    scores : pandas.DataFrame
        One row per scorer, data-free control, leave-one-target-out selection
        or ensemble: ``scorer``, ``kind`` (``"score"``, ``"control"``,
        ``"loto"`` or ``"ensemble"``), ``mean_tau_w`` (mean weighted Kendall τ
        against fine-tuning over the targets), ``ci_low`` / ``ci_high`` (its
        bootstrap 95 % interval; NaN where the benchmark run computed none),
        ``n_targets``, ``targets_beating_best_control`` (NaN for controls, or
        where not computed) and ``tasks`` (the tasks of the targets it was
        evaluated on, ``"classification"`` or
        ``"classification+regression"``), ``mean_tau_w_classification`` and
        ``mean_tau_w_regression`` (the mean τ_w over the targets of one task,
        so that scorers are compared on the same targets; NaN where a scorer
        was not evaluated on that task).
    targets : pandas.DataFrame
        What the evidence covers, one row per target: ``target``, ``task``,
        ``n_train`` (training images), ``n_classes``,
        ``samples_per_class_min`` / ``samples_per_class_max`` (NaN for
        regression) and ``feature_width_min`` / ``feature_width_max`` (the
        narrowest and widest candidate features).

    See Also
    --------
    skdisco.selection.evaluate_ranking : Evaluate a ranking against a truth.
    load_finetune_benchmark : The published fine-tuning accuracies.

    Examples
    --------
    >>> from skdisco.datasets import load_score_evidence
    >>> scores, targets = load_score_evidence()
    >>> set(scores["kind"]) <= {"control", "ensemble", "loto", "score"}
    True
    >>> best = scores.loc[scores["mean_tau_w_classification"].idxmax()]
    >>> bool(-1 <= best["mean_tau_w_classification"] <= 1)
    True
    >>> bool((targets["feature_width_min"] <= targets["feature_width_max"]).all())
    True
    """
    return _read(SCORES_FILE, _SCORE_COLUMNS), _read(TARGETS_FILE, _TARGET_COLUMNS)
