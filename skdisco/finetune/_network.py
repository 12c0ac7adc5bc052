"""The network being fine-tuned: a pre-trained backbone and a new linear head.

The backbone is loaded by the feature extractors (:mod:`skdisco.features`), so a
timm name, a local checkpoint or an offline weight package mean exactly what they
mean for :class:`~skdisco.features.TimmFeatureExtractor`, and the preprocessing is
the same eval transform.
"""

from __future__ import annotations

import copy

import torch
from timm.data import create_transform, resolve_data_config

from ..features import TimmFeatureExtractor, TorchFeatureExtractor
from ..utils._torch import pool_tensor, to_tensor


def is_timm_module(module):
    """Whether ``module`` has timm's ``forward_features``/``forward_head`` API."""
    return callable(getattr(module, "forward_features", None)) and callable(
        getattr(module, "forward_head", None)
    )


def has_source_classifier(module):
    """Whether a timm module still carries its source classifier."""
    return is_timm_module(module) and int(getattr(module, "num_classes", 0) or 0) > 0


def source_log_probabilities(module, x):
    """Log-probabilities of the source classifier of a timm module."""
    logits = module.forward_head(module.forward_features(x))
    return logits.float().log_softmax(dim=-1)


class FineTuneNet(torch.nn.Module):
    """``head(features(x))``: a backbone's pooled features and a linear head.

    Parameters
    ----------
    backbone : torch.nn.Module
        The pre-trained part. A timm module gives
        ``forward_head(forward_features(x), pre_logits=True)``; any other module
        its output, averaged over spatial positions or tokens if not 2-D.
    head : torch.nn.Linear
        The new head.
    """

    def __init__(self, backbone, head):
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.timm_api = is_timm_module(backbone)

    def features(self, x):
        if self.timm_api:
            return self.backbone.forward_head(
                self.backbone.forward_features(x), pre_logits=True
            )
        return pool_tensor(self.backbone(x), "avg")

    def forward(self, x):
        return self.head(self.features(x))


def load_backbone(model, *, pretrained, weights, image_size, preprocessing, seed):
    """The backbone (a CPU copy, in train mode) and the per-image transform.

    Parameters
    ----------
    model : str or torch.nn.Module
        A timm name (loaded by :class:`~skdisco.features.TimmFeatureExtractor`
        with ``pretrained``/``weights``) or a module (deep-copied; timm modules
        get timm's eval transform from their data config, others
        :class:`~skdisco.features.TorchFeatureExtractor`'s).
    pretrained, weights, image_size, preprocessing
        As for the estimators.
    seed : int
        Seed of the initialisation of a ``pretrained=False`` timm model.

    Returns
    -------
    backbone : torch.nn.Module
    transform : callable
    """
    if isinstance(model, str):
        ext = TimmFeatureExtractor(
            model,
            pretrained=pretrained,
            weights=weights,
            image_size=image_size,
            preprocessing=preprocessing,
            device="cpu",
            channels_last=False,
            cache=None,
            random_state=seed,
        ).fit()
        backbone, transform = ext.model_, ext.transform_
        backbone.requires_grad_(True)
    else:
        if weights is not None:
            raise ValueError(
                "weights= applies to a timm model name; a torch.nn.Module is "
                "fine-tuned from the parameters it holds. Load the weights into "
                "the module first, or pass the timm name."
            )
        trainable = [p.requires_grad for p in model.parameters()]
        if is_timm_module(model):
            backbone = copy.deepcopy(model).cpu()
            transform = _timm_module_transform(backbone, image_size, preprocessing)
        else:
            ext = TorchFeatureExtractor(
                model,
                image_size=image_size,
                preprocessing=preprocessing,
                device="cpu",
                channels_last=False,
                cache=None,
            ).fit()
            backbone, transform = ext.model_, ext.transform_
        # Frozen parameters of the module stay frozen (neither trained nor
        # penalised); the others are trained.
        for p, flag in zip(backbone.parameters(), trainable, strict=True):
            p.requires_grad_(flag)
    backbone.train()
    return backbone, transform


def _timm_module_transform(module, image_size, preprocessing):
    if callable(preprocessing):
        return preprocessing
    if preprocessing == "passthrough":
        return to_tensor
    args = {}
    if image_size is not None:
        args["input_size"] = (3, image_size, image_size)
    config = resolve_data_config(args=args, model=module)
    return create_transform(**config, is_training=False)


@torch.no_grad()
def feature_width(net, sample):
    """Width of ``net.features`` for one preprocessed image (eval mode)."""
    was_training = net.training
    net.eval()
    try:
        return int(net.features(sample[None]).shape[-1])
    finally:
        net.train(was_training)


def light_augment(x, generator):
    """Random horizontal flip and a random shift of up to 1/8 of the side.

    The shift pads by reflection and crops back, per image; all draws come from
    ``generator`` (a CPU ``torch.Generator``), so a seeded fit is reproducible.
    """
    n, _, h, w = x.shape
    flip = torch.rand(n, generator=generator) < 0.5
    x = torch.where(flip.to(x.device)[:, None, None, None], x.flip(-1), x)
    pad_h, pad_w = max(h // 8, 0), max(w // 8, 0)
    if pad_h == 0 and pad_w == 0:
        return x
    padded = torch.nn.functional.pad(x, (pad_w, pad_w, pad_h, pad_h), mode="reflect")
    dy = torch.randint(0, 2 * pad_h + 1, (n,), generator=generator).tolist()
    dx = torch.randint(0, 2 * pad_w + 1, (n,), generator=generator).tolist()
    return torch.stack(
        [padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)]
    )
