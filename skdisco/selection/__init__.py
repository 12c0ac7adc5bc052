"""Ranking many pre-trained models: the main job of skdisco.

:func:`rank_models` scores every candidate model on one dataset and returns a
table, best first; :class:`WholeSetSplit` and :func:`transferability_scorer`
do the same inside ``GridSearchCV``; :func:`evaluate_ranking` and its
measures (:func:`weighted_kendall_tau`, ...) compare a ranking with fine-tuned
accuracies, against data-free controls and with bootstrap intervals;
:func:`summarize_evaluation`, :func:`compare_scorers` and
:func:`leave_one_target_out` turn several targets into evidence;
:func:`rank_aggregate` combines several scorers' rankings into one;
:func:`plot_ranking` and :func:`plot_scores_vs_truth` draw them
(matplotlib, an optional dependency).
"""

# DiscoDetectionScorer lives in skdisco.scorers; still importable from here.
from ..scorers import DiscoDetectionScorer as DiscoDetectionScorer
from ._aggregate import rank_aggregate
from ._evaluate import (
    evaluate_ranking,
    kendall_tau,
    pearson_correlation,
    top_k_relative_accuracy,
    weighted_kendall_tau,
)
from ._plot import plot_ranking, plot_scores_vs_truth
from ._rank import make_extractor, rank_models
from ._registry import scorer_names
from ._scoring import pipeline_features, transferability_scorer
from ._split import WholeSetSplit
from ._summary import compare_scorers, leave_one_target_out, summarize_evaluation

__all__ = [
    "WholeSetSplit",
    "compare_scorers",
    "evaluate_ranking",
    "kendall_tau",
    "leave_one_target_out",
    "make_extractor",
    "pearson_correlation",
    "pipeline_features",
    "plot_ranking",
    "plot_scores_vs_truth",
    "rank_aggregate",
    "rank_models",
    "scorer_names",
    "summarize_evaluation",
    "top_k_relative_accuracy",
    "transferability_scorer",
    "weighted_kendall_tau",
]
