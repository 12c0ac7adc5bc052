"""The machinery every feature extractor shares: devices, streaming, cache, sklearn.

A subclass says how to build the model (``_build_model``), how to preprocess one
image by default (``_default_transform``), which named outputs it can give
(``_check_outputs``) and how one forward pass of a batch gives each of them as a
2-D tensor (``_forward_outputs``), and what identifies the model for the cache
(``_model_identity``). Everything else -- parameter validation, streaming batches
through a ``DataLoader`` under ``torch.inference_mode``, bf16 autocast on CUDA,
channels-last, the on-disk cache (one entry per output), progress, feature
names, ``set_output`` and pickling -- lives here once, on the torch runtime of
:mod:`skdisco.utils._torch` (devices, pooling, progress, pickling through the
CPU) that fine-tuning shares.
"""

from __future__ import annotations

import contextlib
import os
from numbers import Integral

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils._store import FeatureCache, digest, resolve_cache_dir
from ..utils._torch import (
    Progress,
    TorchModelMixin,
    as_image_dataset,
    has_conv2d,
    resolve_device,
    resolve_precision,
    to_tensor,
)


def _host_array(a):
    """A float32 NumPy array of extracted rows (a tensor is copied to the host)."""
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    return a


def tensor_digest(module):
    """Digest of a module's parameters and buffers (names, dtypes, shapes, values)."""
    return digest("state_dict", module.state_dict())


class BaseFeatureExtractor(TransformerMixin, TorchModelMixin, BaseEstimator):
    """Base class of the feature extractors: a backbone as a stateless transformer.

    ``fit`` loads the model (it never learns from ``X``); ``transform`` streams the
    images through it batch by batch and returns a float32 ``(n_images,
    n_features)`` array, from the on-disk cache when the same model,
    preprocessing, output and data were seen before; ``transform_outputs``
    returns several named outputs from one forward pass per batch.

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
        "return_tensors": [StrOptions({"numpy", "torch"})],
    }

    # --- hooks for subclasses -------------------------------------------------
    def _build_model(self):  # pragma: no cover - abstract
        raise TypeError(f"{type(self).__name__} must define _build_model")

    def _default_transform(self, model):  # pragma: no cover - abstract
        raise TypeError(f"{type(self).__name__} must define _default_transform")

    def _forward_outputs(self, model, x, outputs):
        """``{name: tensor}`` of one pass; by default a subclass's ``_forward``.

        A subclass written against the single-output hook ``_forward(model,
        x)`` keeps working: it gives its one output, ``transform``'s.
        """
        forward = getattr(self, "_forward", None)
        if forward is None:  # pragma: no cover - abstract
            raise TypeError(f"{type(self).__name__} must define _forward_outputs")
        own = self._transform_output()
        if tuple(outputs) != (own,):
            raise ValueError(
                f"{type(self).__name__} gives one output, {own!r}; it cannot "
                f"return {[name for name in outputs if name != own] or list(outputs)}."
            )
        return {own: forward(model, x)}

    def _transform_output(self):
        """Name of the output ``transform`` returns, from the parameters."""
        return "features"

    def _check_outputs(self, outputs):
        """``outputs`` as a tuple of distinct names, or a ValueError."""
        if isinstance(outputs, str):
            outputs = (outputs,)
        try:
            names = tuple(dict.fromkeys(outputs))
        except TypeError:
            names = ()
        if not names or not all(isinstance(name, str) for name in names):
            raise ValueError(
                "outputs must be an output name or a non-empty sequence of them, "
                f"such as ('features', 'probabilities'); got {outputs!r}."
            )
        return names

    def _output_identity(self, output):
        """What identifies ``output`` in a cache key, beyond the model."""
        return output

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
        self.output_ = self._transform_output()
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
        features : ndarray of shape (n_images, ``n_features_out_``), dtype float32
            One row per image, in the order of ``X``; a float32 tensor on
            ``device_`` with ``return_tensors="torch"``.
        """
        check_is_fitted(self, "model_")
        name = self._transform_output()
        features = self._outputs(X, (name,))[name]
        self.n_features_out_ = features.shape[1]
        return features

    def transform_outputs(self, X, outputs):
        """Several outputs of the images ``X`` from one forward pass per batch.

        Each batch goes through the model once and every requested output is
        read from that pass (for a timm model: ``forward_features`` once, then
        ``forward_head(pre_logits=True)`` and ``forward_head``), so asking for
        features and probabilities together costs one extraction, not two.
        ``transform`` keeps returning one array (its output is ``output_``).

        Parameters
        ----------
        X : images
            As for :meth:`transform`.
        outputs : str or sequence of str
            Names of the outputs, among those the extractor gives (see the
            class documentation), e.g. ``("features", "probabilities")``.
            Repeated names are returned once.

        Returns
        -------
        outputs : dict of str to ndarray of shape (n_images, width), float32
            One array per requested name, in the order asked, rows in the
            order of ``X`` (float32 tensors on ``device_`` with
            ``return_tensors="torch"``).

        Notes
        -----
        With a ``cache``, each output is one cache entry, the same entry that
        :meth:`transform` reads and writes for that output. Outputs found in
        the cache are read from it and never recomputed; the others are
        computed together in one pass over ``X`` and stored each in its entry
        (so a cached output never causes a second pass, and a missing one
        costs exactly one).
        """
        check_is_fitted(self, "model_")
        return self._outputs(X, outputs)

    def _outputs(self, X, outputs):
        """``{name: array}`` of ``outputs``: cached ones read, the rest in one pass."""
        outputs = self._check_outputs(outputs)
        cache_dir = resolve_cache_dir(self.cache)
        dataset = as_image_dataset(
            X, self.transform_, fingerprint=cache_dir is not None
        )
        n = len(dataset)
        found, keys = {}, {}
        if cache_dir is not None:
            store = FeatureCache(cache_dir)
            for name in outputs:
                keys[name] = self._cache_key(dataset.fingerprint, output=name)
                hit = store.get(keys[name], n_samples=n)
                if hit is not None:
                    found[name] = hit
        missing = tuple(name for name in outputs if name not in found)
        tensors = getattr(self, "return_tensors", "numpy") == "torch"
        if missing:
            computed = self._extract(dataset, missing, tensors=tensors)
            for name in missing:
                if name in keys:
                    store.put(keys[name], _host_array(computed[name]))
            found.update(computed)
        if tensors:  # cached outputs join the computed ones on the device
            device = self._runtime_device()
            found = {k: torch.as_tensor(v, device=device) for k, v in found.items()}
        return {name: found[name] for name in outputs}

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
    def _extract(self, dataset, outputs, tensors=False):
        """``{name: float32 rows}`` of one pass over ``dataset``.

        NumPy arrays on the host, or with ``tensors`` float32 tensors left on
        the device the model ran on (written there batch by batch: features
        extracted on a GPU never visit host memory).
        """
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
        out = {}
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
                got = self._forward_outputs(model, batch, outputs)
                for name in outputs:
                    f = got[name]
                    if f.ndim != 2:
                        f = f.flatten(1)
                    f = f.float() if tensors else f.float().cpu().numpy()
                    if name not in out:
                        out[name] = (
                            torch.empty(
                                (n, f.shape[1]), dtype=torch.float32, device=f.device
                            )
                            if tensors
                            else np.empty((n, f.shape[1]), dtype=np.float32)
                        )
                    out[name][start : start + f.shape[0]] = f
                start += batch.shape[0]
        return out

    # --- cache ---------------------------------------------------------------
    def _cache_key(self, data_fingerprint, output):
        device = resolve_device(self.device)
        dtype = resolve_precision(self.precision, device)
        return {
            "extractor": type(self).__name__,
            "model": self._model_identity(),
            "output": self._output_identity(output),
            "preprocessing": repr(self.transform_),
            "precision": str(dtype or torch.float32),
            "data": data_fingerprint,
        }

    def _state_digest(self):
        """Digest of the fitted model's weights, computed once per fit."""
        if getattr(self, "_weights_digest", None) is None:
            self._weights_digest = tensor_digest(self.model_)
        return self._weights_digest
