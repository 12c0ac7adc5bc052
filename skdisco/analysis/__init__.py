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

#: Public name -> the private module that defines it. Each instrument adds its
#: own block.
_LAZY = {
    # spectra (DISCO; Deng et al. 2023)
    "SpectralProfile": "_spectra",
    "SpectralShift": "_spectra",
    "component_transferability": "_spectra",
    "plot_component_transferability": "_spectra",
    "plot_spectral_profile": "_spectra",
    "plot_spectral_shift": "_spectra",
    "spectral_profile": "_spectra",
    "spectral_shift": "_spectra",
    # layer-wise transferability from the weights (Chen et al. 2022)
    "finetune_parameter_transferability": "_parameters",
    "parameter_transferability": "_parameters",
    "plot_parameter_transferability": "_parameters",
    # checkpoint trajectories (Deng et al. 2023; Liu et al. 2019) and layer-wise
    # transferability from features, one forward pass
    "checkpoint_trajectory": "_trajectory",
    "plot_checkpoint_trajectory": "_trajectory",
    "layer_features": "_layers",
    "layerwise_scores": "_layers",
    "plot_layerwise_scores": "_layers",
    # the optimisation landscape (Liu et al. 2019)
    "GradientComponent": "_landscape",
    "LandscapeRecorder": "_landscape",
    "LossSmoothness": "_landscape",
    "compare_landscapes": "_landscape",
    "gradient_principal_component": "_landscape",
    "loss_smoothness": "_landscape",
    "plot_loss_smoothness": "_landscape",
    "plot_weight_deviation": "_landscape",
    "sharpness": "_landscape",
    "weight_deviation": "_landscape",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)
