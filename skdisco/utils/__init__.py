"""Validation helpers, scorer tags, the scorer check suite and the cache store."""

from ._source import FeatureSource, as_feature_source, is_out_of_core, subsample
from ._store import CacheWarning, Store
from ._tags import ScorerTags, Tags, get_scorer_tags
from ._validation import (
    check_classification_target,
    check_consistent_samples,
    check_features,
    check_regression_target,
    check_scalar_positive_int,
    infer_task,
)
from ._warnings import PerfectSeparationWarning, SaturatedScoreWarning

__all__ = [
    "CacheWarning",
    "FeatureSource",
    "as_feature_source",
    "is_out_of_core",
    "subsample",
    "PerfectSeparationWarning",
    "SaturatedScoreWarning",
    "ScorerTags",
    "Store",
    "Tags",
    "get_scorer_tags",
    "check_classification_target",
    "check_consistent_samples",
    "check_features",
    "check_regression_target",
    "check_scalar_positive_int",
    "infer_task",
]
