"""Transferability scorers: scikit-learn estimators with ``fit`` and ``score``.

Each scorer wraps one function of :mod:`skdisco.transferability`, in a module
named after the same method family; it adds input validation and
scikit-learn plumbing (``clone``, ``Pipeline``, ``GridSearchCV``), never maths.
``score`` is higher-is-better for every scorer. What kind of scorer each is
(input kind, tasks, set-level, ``partial_fit``) is in its tags:
:func:`skdisco.utils.get_scorer_tags`.
"""

from ._base import BaseScorer
from ._disco import DiscoDetectionScorer, DiscoScorer
from ._etran import ETranScorer
from ._gbc import GBCScorer
from ._hscore import HScoreScorer, RegularizedHScoreScorer
from ._leep import LEEPScorer, NCEScorer, NLEEPScorer
from ._logme import LogMEScorer
from ._ncti import NCTIScorer
from ._pactran import PACTranDirichletScorer, PACTranGammaScorer, PACTranGaussScorer
from ._parc import PARCScorer
from ._probe import KNNProbeScorer, LinearProbeScorer
from ._sfda import SFDAScorer
from ._transrate import TransRateScorer

__all__ = [
    "BaseScorer",
    "DiscoDetectionScorer",
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
