"""The machinery every feature extractor shares: devices, streaming, cache, sklearn.

A subclass says how to build the model (``_build_model``), how to preprocess one
image by default (``_default_transform``), how to turn a batch into a 2-D feature
tensor (``_forward``) and what identifies the model for the cache
(``_model_identity``). Everything else -- parameter validation, streaming batches
through a ``DataLoader`` under ``torch.inference_mode``, bf16 autocast on CUDA,
channels-last, the on-disk cache, progress, feature names, ``set_output`` and
pickling -- lives here once, on the torch runtime of :mod:`skdisco.utils._torch`
(devices, pooling, progress, pickling through the CPU) that fine-tuning shares.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from numbers import Integral

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils._torch import (
    Progress,
    TorchModelMixin,
    has_conv2d,
    resolve_device,
    resolve_precision,
    to_tensor,
)
from ._cache import FeatureCache, cache_key, resolve_cache_dir
from ._inputs import as_image_dataset


def tensor_digest(module):
    """SHA-256 of a module's parameters and buffers (names, shapes, values)."""
    h = hashlib.sha256()
    for name, t in module.state_dict().items():
        t = t.detach().to("cpu").contiguous()
        h.update(f"{name}{tuple(t.shape)}{t.dtype}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


class BaseFeatureExtractor(TransformerMixin, TorchModelMixin, BaseEstimator):
    """Base class of the feature extractors: a backbone as a stateless transformer.

    ``fit`` loads the model (it never learns from ``X``); ``transform`` streams the
    images through it batch by batch and returns a float32 ``(n_images,
    n_features)`` array, from the on-disk cache when the same model,
    preprocessing, output and data were seen before.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.features import TimmFeatureExtractor
    >>> images = np.zeros((2, 32, 32, 3), dtype=np.uint8)
    >>> ext = TimmFeatureExtractor("test_resnet", pretrained=False, image_size=32)
    >>> ext.fit_transform(images).shape
    (2, 96)
    """

    _parameter_constraints: dict = {
        "preprocessing": [callable, StrOptions({"passthrough"}), None],
        "image_size": [Interval(Integral, 1, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": [str, torch.device, None],
        "precision": [StrOptions({"auto", "float32", "bfloat16"})],
        "num_workers": [Interval(Integral, 0, None, closed="left")],
        "channels_last": ["boolean", StrOptions({"auto"})],
        "cache": ["boolean", str, os.PathLike, None],
        "progress": ["boolean"],
    }

    # --- hooks for subclasses -------------------------------------------------
    def _build_model(self):  # pragma: no cover - abstract
        raise TypeError(f"{type(self).__name__} must define _build_model")

    def _default_transform(self, model):  # pragma: no cover - abstract
        raise TypeError(f"{type(self).__name__} must define _default_transform")

    def _forward(self, model, x):  # pragma: no cover - abstract
        raise TypeError(f"{type(self).__name__} must define _forward")

    def _model_identity(self):  # pragma: no cover - abstract
        raise TypeError(f"{type(self).__name__} must define _model_identity")

    def _n_features_without_data(self, model):
        """Output width known from the model alone, or None."""
        return None

    def _feature_name_prefix(self):
        return type(self).__name__.lower()

    # --- scikit-learn API ----------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        tags.non_deterministic = False
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = []
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X=None, y=None):
        """Load the model; ``X`` and ``y`` are ignored (nothing is learned).

        Parameters
        ----------
        X : ignored
            Accepted for scikit-learn compatibility (``Pipeline``,
            ``fit_transform``).
        y : ignored
            Accepted for scikit-learn compatibility.

        Returns
        -------
        self : object
            The extractor with ``model_``, ``transform_`` and ``device_`` set.
        """
        device = resolve_device(self.device)
        model = self._build_model()
        model.eval()
        model.requires_grad_(False)
        self.channels_last_ = bool(
            has_conv2d(model) if self.channels_last == "auto" else self.channels_last
        )
        model.to(device)
        if self.channels_last_:
            model.to(memory_format=torch.channels_last)
        self.model_ = model
        self.device_ = device
        self.transform_ = self._resolve_transform(model)
        self.n_features_out_ = self._n_features_without_data(model)
        self._weights_digest = None
        return self

    def _resolve_transform(self, model):
        if self.preprocessing is None:
            return self._default_transform(model)
        if isinstance(self.preprocessing, str):  # "passthrough"
            return to_tensor
        return self.preprocessing

    def transform(self, X):
        """Features of the images ``X``, streamed in batches.

        Parameters
        ----------
        X : images
            A uint8 array (n_images, height, width[, channels]); a float array
            (n_images, channels, height, width) with values in [0, 1]; a list of
            PIL images; a list (or pandas Series) of image file paths; or a torch
            ``Dataset`` whose items are images or (image, label) pairs.
            Grayscale and RGBA images become RGB.

        Returns
        -------
        features : ndarray of shape (n_images, n_features_out_), dtype float32
            One row per image, in the order of ``X``.
        """
        check_is_fitted(self, "model_")
        cache_dir = resolve_cache_dir(self.cache)
        dataset = as_image_dataset(
            X, self.transform_, fingerprint=cache_dir is not None
        )
        n = len(dataset)
        key = None
        if cache_dir is not None:
            store = FeatureCache(cache_dir)
            key = self._cache_key(dataset.fingerprint)
            hit = store.get(key, n_samples=n)
            if hit is not None:
                self.n_features_out_ = hit.shape[1]
                return hit
        features = self._extract(dataset)
        self.n_features_out_ = features.shape[1]
        if key is not None:
            store.put(key, features)
        return features

    def get_feature_names_out(self, input_features=None):
        """Output feature names: ``<prefix><i>`` for each output column.

        Parameters
        ----------
        input_features : ignored
            Images have no input feature names.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``n_features_out_`` names.
        """
        check_is_fitted(self, "model_")
        n = getattr(self, "n_features_out_", None)
        if n is None:
            raise ValueError(
                "The number of output features is known after the first transform "
                "for this extractor; call transform first."
            )
        prefix = self._feature_name_prefix()
        return np.asarray([f"{prefix}{i}" for i in range(n)], dtype=object)

    # --- streaming -----------------------------------------------------------
    def _extract(self, dataset):
        device = self._runtime_device()
        model = self.model_
        autocast_dtype = resolve_precision(self.precision, device)
        loader = torch.utils.data.DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=False,
            num_workers=self.num_workers,
            pin_memory=device.type == "cuda",
            generator=torch.Generator(),  # leaves torch's global RNG untouched
        )
        n = len(dataset)
        out = None
        start = 0
        amp = (
            torch.autocast(device_type=device.type, dtype=autocast_dtype)
            if autocast_dtype is not None
            else contextlib.nullcontext()
        )
        batches = Progress(loader, n, self.progress, type(self).__name__)
        with torch.inference_mode(), amp:
            for batch in batches:
                batch = batch.to(device, non_blocking=True)
                if self.channels_last_ and batch.ndim == 4:
                    batch = batch.contiguous(memory_format=torch.channels_last)
                f = self._forward(model, batch)
                if f.ndim != 2:
                    f = f.flatten(1)
                f = f.float().cpu().numpy()
                if out is None:
                    out = np.empty((n, f.shape[1]), dtype=np.float32)
                out[start : start + f.shape[0]] = f
                start += f.shape[0]
        return out

    # --- cache ---------------------------------------------------------------
    def _cache_key(self, data_fingerprint):
        device = resolve_device(self.device)
        dtype = resolve_precision(self.precision, device)
        return cache_key(
            {
                "extractor": type(self).__name__,
                "model": self._model_identity(),
                "preprocessing": repr(self.transform_),
                "precision": str(dtype or torch.float32),
                "data": data_fingerprint,
            }
        )

    def _state_digest(self):
        """Digest of the fitted model's weights, computed once per fit."""
        if getattr(self, "_weights_digest", None) is None:
            self._weights_digest = tensor_digest(self.model_)
        return self._weights_digest
