"""skdisco: which pre-trained model will transfer best to your data?

The most used names are available at the top level; they are imported on first
use, so ``import skdisco`` stays cheap (torch loads only when an extractor or a
fine-tuning estimator is touched).

Examples
--------
>>> import skdisco
>>> sorted(skdisco.__all__)[:3]
['DiscoScorer', 'FineTuneClassifier', 'FineTuneRegressor']
>>> skdisco.logme is skdisco.transferability.logme
True
"""

from ._lazy import lazy_exports

__version__ = "0.1.0.dev0"

#: Public name -> the submodule that defines it.
_LAZY = {
    "logme": "transferability",
    "disco": "transferability",
    "LogMEScorer": "scorers",
    "DiscoScorer": "scorers",
    "TimmFeatureExtractor": "features",
    "TorchFeatureExtractor": "features",
    "load_image_folder": "features",
    "rank_models": "selection",
    "FineTuneClassifier": "finetune",
    "FineTuneRegressor": "finetune",
    "evaluate_ranking": "selection",
}

_SUBMODULES = (
    "datasets",
    "features",
    "finetune",
    "scorers",
    "selection",
    "transferability",
    "utils",
)

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY, _SUBMODULES)
