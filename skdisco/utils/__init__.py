"""Validation helpers and the scorer check suite."""

from ._validation import (
    check_classification_target,
    check_consistent_samples,
    check_features,
    check_regression_target,
    check_scalar_positive_int,
    infer_task,
)

__all__ = [
    "check_classification_target",
    "check_consistent_samples",
    "check_features",
    "check_regression_target",
    "check_scalar_positive_int",
    "infer_task",
]
