"""Transferability scorers: scikit-learn estimators with ``fit`` and ``score``.

Each scorer wraps one function of :mod:`skdisco.transferability`; it adds input
validation and scikit-learn plumbing (``clone``, ``Pipeline``, ``GridSearchCV``),
never maths. ``score`` is higher-is-better for every scorer.
"""

from ._base import BaseScorer
from ._baselines_a import (
    GBCScorer,
    HScoreScorer,
    KNNProbeScorer,
    LEEPScorer,
    LinearProbeScorer,
    NCEScorer,
    NLEEPScorer,
    PARCScorer,
    RegularizedHScoreScorer,
    TransRateScorer,
)
from ._baselines_b import (
    ETranScorer,
    NCTIScorer,
    PACTranDirichletScorer,
    PACTranGammaScorer,
    PACTranGaussScorer,
    SFDAScorer,
)
from ._disco import DiscoScorer
from ._logme import LogMEScorer

__all__ = [
    "BaseScorer",
    "DiscoScorer",
    "ETranScorer",
    "GBCScorer",
    "HScoreScorer",
    "KNNProbeScorer",
    "LEEPScorer",
    "LinearProbeScorer",
    "LogMEScorer",
    "NCEScorer",
    "NCTIScorer",
    "NLEEPScorer",
    "PACTranDirichletScorer",
    "PACTranGammaScorer",
    "PACTranGaussScorer",
    "PARCScorer",
    "RegularizedHScoreScorer",
    "SFDAScorer",
    "TransRateScorer",
]
