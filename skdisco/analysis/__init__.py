"""Why a model transfers: the instruments of the papers skdisco comes from.

Spectra of features and the transferability of each spectral band (DISCO; Deng
et al. 2023): :func:`spectral_profile`, :func:`component_transferability`,
:func:`spectral_shift`. Checkpoint trajectories, frozen extractor against
fine-tuning over pre-training (Deng et al. 2023; Liu et al. 2019):
:func:`checkpoint_trajectory`. Layer-wise transferability from features, one
forward pass for every block: :func:`layerwise_scores`; and from the weights
(Chen et al. 2022): :func:`parameter_transferability`. The optimisation
landscape (Liu et al. 2019): :func:`weight_deviation`,
:func:`loss_smoothness`, :func:`sharpness`,
:func:`gradient_principal_component`.

Every function returns a tidy :class:`pandas.DataFrame` (one row per
measurement) or a small result object; the ``plot_*`` functions draw them
(matplotlib, the optional ``plot`` extra); ``skdisco analyze`` runs them from
the command line. Names load on first use, so importing this package costs
nothing until an instrument is called.
"""

from .._lazy import lazy_exports

#: Public name -> the private module that defines it.
_LAZY = {
    # spectra (DISCO; Deng et al. 2023)
    "spectral_profile": "_spectra",
    "component_transferability": "_spectra",
    "spectral_shift": "_spectra",
    "plot_spectral_profile": "_spectra",
    "plot_component_transferability": "_spectra",
    # checkpoint trajectories (Deng et al. 2023; Liu et al. 2019)
    "checkpoint_trajectory": "_trajectory",
    "plot_checkpoint_trajectory": "_trajectory",
    # layer-wise transferability from features
    "layerwise_scores": "_layers",
    "plot_layerwise_scores": "_layers",
    # layer-wise transferability from parameters (Chen et al. 2022)
    "parameter_transferability": "_parameters",
    "finetune_parameter_transferability": "_parameters",
    "plot_parameter_transferability": "_parameters",
    # the optimisation landscape (Liu et al. 2019)
    "weight_deviation": "_landscape",
    "plot_weight_deviation": "_landscape",
    "loss_smoothness": "_landscape",
    "sharpness": "_landscape",
    "gradient_principal_component": "_landscape",
}

# DEVELOPMENT ONLY (removed when every instrument has landed): list the names
# whose module exists, so each instrument can be built on its own branch.
import importlib.util as _util

_LAZY = {k: v for k, v in _LAZY.items() if _util.find_spec(f"{__name__}.{v}")}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)
