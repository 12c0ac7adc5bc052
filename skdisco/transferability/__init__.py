"""Transferability scores as plain functions of features and targets.

The functional core of skdisco: numpy/scipy only, float64 inside, no estimators and
no I/O. Every function here has an estimator twin in :mod:`skdisco.scorers`.
"""

from ._disco import DiscoResult, disco, disco_components, disco_detection
from ._logme import logme

__all__ = [
    "DiscoResult",
    "disco",
    "disco_components",
    "disco_detection",
    "logme",
]
