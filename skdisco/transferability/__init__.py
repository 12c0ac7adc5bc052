"""Transferability scores as plain functions of features and targets.

The functional core of skdisco: numpy/scipy only, float64 inside, no estimators and
no I/O. Every function here has an estimator twin in :mod:`skdisco.scorers`.
"""

from ._disco import (
    DiscoResult,
    disco,
    disco_components,
    disco_detection,
    disco_detection_components,
)
from ._etran import etran, etran_combine, etran_components, etran_energy, etran_lda
from ._gbc import gbc
from ._hscore import hscore, regularized_hscore
from ._leep import leep, nce, nleep
from ._logme import logme
from ._ncti import ncti, ncti_combine, ncti_components, ncti_lda_score
from ._pactran import pactran_dirichlet, pactran_gamma, pactran_gauss
from ._parc import parc
from ._probe import knn_probe, linear_probe
from ._sfda import sfda
from ._transrate import transrate

__all__ = [
    "DiscoResult",
    "disco",
    "disco_components",
    "disco_detection",
    "disco_detection_components",
    "etran",
    "etran_combine",
    "etran_components",
    "etran_energy",
    "etran_lda",
    "logme",
    "gbc",
    "hscore",
    "knn_probe",
    "leep",
    "linear_probe",
    "nce",
    "ncti",
    "ncti_combine",
    "ncti_components",
    "ncti_lda_score",
    "nleep",
    "pactran_dirichlet",
    "pactran_gamma",
    "pactran_gauss",
    "parc",
    "regularized_hscore",
    "sfda",
    "transrate",
]
