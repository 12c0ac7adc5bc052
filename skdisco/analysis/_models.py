"""Model specs of the analysis instruments, as extractors and as backbones.

An instrument takes a model as :func:`~skdisco.selection.rank_models` does (a
timm name, an offline weight package, ``"ARCH=WEIGHTS"``, ``"ARCH=random"``, a
feature extractor) and also as a bare ``torch.nn.Module``. These helpers turn
one spec into the frozen extractor that scores it and into the module and
preprocessing that fine-tune it, so both see the same weights and the same
images.
"""

from __future__ import annotations

import copy

from sklearn.base import clone


def is_module(spec):
    """Whether ``spec`` is a ``torch.nn.Module`` (without importing torch)."""
    torch = _loaded_torch()
    return torch is not None and isinstance(spec, torch.nn.Module)


def _loaded_torch():
    import sys

    return sys.modules.get("torch")


def module_transform(module, image_size=None, preprocessing=None):
    """The per-image preprocessing of a module, as the fine-tuners choose it.

    timm modules get timm's evaluation transform from their data configuration
    (``image_size`` overriding the input size); other modules
    :class:`~skdisco.features.TorchFeatureExtractor`'s default. A callable
    ``preprocessing`` is used as given.
    """
    from ..features import TorchFeatureExtractor
    from ..finetune._network import _timm_module_transform, is_timm_module

    if is_timm_module(module):
        return _timm_module_transform(module, image_size, preprocessing)
    ext = TorchFeatureExtractor(
        module, image_size=image_size, preprocessing=preprocessing, device="cpu"
    )
    return ext._resolve_transform(module)


def frozen_spec(spec, *, image_size=None, preprocessing=None, **params):
    """What :func:`~skdisco.selection.rank_models` scores for ``spec``.

    An extractor is returned as it is (``rank_models`` clones it), and so is a
    string unless ``preprocessing`` is given (``rank_models`` builds it; with a
    custom preprocessing it is built here). A timm module becomes a
    :class:`~skdisco.features.TorchFeatureExtractor` of a copy without its
    classifier, so its features are the pooled pre-logits features
    (``forward_head(pre_logits=True)``), preprocessed as a fine-tuner would;
    any other module a ``TorchFeatureExtractor`` of its output.
    """
    if isinstance(spec, str) and preprocessing is not None:
        from ..selection import make_extractor

        return make_extractor(
            spec, image_size=image_size, preprocessing=preprocessing, **params
        )
    if not is_module(spec):
        return spec
    from ..features import TorchFeatureExtractor
    from ..finetune._network import is_timm_module

    transform = module_transform(spec, image_size, preprocessing)
    module = spec
    if is_timm_module(spec) and int(getattr(spec, "num_classes", 0) or 0) > 0:
        module = copy.deepcopy(spec)
        module.reset_classifier(0)
    return TorchFeatureExtractor(module, preprocessing=transform, **params)


def backbone(spec, *, image_size=None, preprocessing=None):
    """``(module, transform)``: the weights of ``spec`` to fine-tune, on the CPU.

    Strings and timm/torch extractors are loaded as the frozen extractor loads
    them (same weights, same preprocessing); the module returned is a
    trainable copy. A module is returned as it is (the fine-tuners copy it).
    """
    from ..features import TimmFeatureExtractor, TorchFeatureExtractor
    from ..selection import make_extractor

    if is_module(spec):
        return spec, module_transform(spec, image_size, preprocessing)
    if isinstance(spec, str):
        ext = make_extractor(spec, image_size=image_size, preprocessing=preprocessing)
    elif isinstance(spec, TorchFeatureExtractor):
        ext = clone(spec)
        ext.fit()
        return ext.module, ext.transform_
    elif isinstance(spec, TimmFeatureExtractor):
        ext = clone(spec)
    else:
        raise ValueError(
            f"Cannot fine-tune a {type(spec).__name__}: give the checkpoint as a "
            "timm name, 'ARCH=WEIGHTS', a torch.nn.Module, a TimmFeatureExtractor "
            "or a TorchFeatureExtractor."
        )
    ext.set_params(device="cpu", cache=None, progress=False).fit()
    module = ext.model_
    module.requires_grad_(True)  # the extractor froze it; fine-tuning trains it
    return module, ext.transform_
