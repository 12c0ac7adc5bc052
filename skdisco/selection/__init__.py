"""Ranking many pre-trained models: the main job of skdisco.

:func:`rank_models` scores every candidate model on one dataset and returns a
table, best first; :class:`WholeSetSplit` and :func:`transferability_scorer`
do the same inside ``GridSearchCV``; :func:`evaluate_ranking` and its
measures (:func:`weighted_kendall_tau`, ...) compare a ranking with fine-tuned
accuracies; :func:`plot_ranking` and :func:`plot_scores_vs_truth` draw them
(matplotlib, an optional dependency).
"""

# DiscoDetectionScorer lives in skdisco.scorers; still importable from here.
from ..scorers import DiscoDetectionScorer as DiscoDetectionScorer
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

__all__ = [
    "WholeSetSplit",
    "evaluate_ranking",
    "kendall_tau",
    "make_extractor",
    "pearson_correlation",
    "pipeline_features",
    "plot_ranking",
    "plot_scores_vs_truth",
    "rank_models",
    "scorer_names",
    "top_k_relative_accuracy",
    "transferability_scorer",
    "weighted_kendall_tau",
]
