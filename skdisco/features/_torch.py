"""TorchFeatureExtractor: any ``torch.nn.Module`` as a scikit-learn transformer."""

from __future__ import annotations

import contextlib
import copy
import difflib
from collections.abc import Mapping

import torch
from sklearn.utils._param_validation import StrOptions
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, create_transform
from torchvision import transforms as T

from ..utils._torch import pool_tensor, to_tensor
from ._base import BaseFeatureExtractor
from ._timm import _hooked


class TorchFeatureExtractor(BaseFeatureExtractor):
    """Any ``torch.nn.Module`` as a stateless transformer from images to features.

    ``fit`` copies the module (so the one passed in is never moved or changed),
    puts the copy in eval mode on the device; ``transform`` streams the images
    through it like :class:`TimmFeatureExtractor` does and returns the module's
    output, or a named submodule's output, pooled to one vector per image.
    :meth:`transform_outputs` returns several named outputs (features and the
    source probabilities, say) from one forward pass per batch.

    Parameters
    ----------
    module : torch.nn.Module
        The model. Its forward takes a float batch (N, 3, H, W) and returns a
        tensor (a tuple: its first element) or a dict of named tensors (see
        Notes).
    layer : str, default=None
        Name of a submodule (``module.named_modules()``) whose output gives the
        features (forward hook); ``None`` takes them from the module's own
        output.
    pooling : {"avg", "cls"}, default="avg"
        How an output with more than two dimensions becomes one vector:
        ``"avg"`` averages spatial positions (N, C, H, W) or tokens (N, L, D),
        ``"cls"`` takes the first token.
    softmax : bool, default=False
        Return the softmax of the module's output (the probabilities LEEP and
        NCE take, when the module outputs logits): ``transform`` then returns
        the output ``"probabilities"``. Cannot be combined with ``layer``; ask
        :meth:`transform_outputs` for ``("features", "probabilities")`` to get
        a layer's features and the module's probabilities in one pass.
    image_size : int, default=None
        With the default transform, resize (shorter side, bicubic) and
        center-crop to this size; ``None`` keeps the images' size (a batch
        then needs images of one size).
    preprocessing : callable or "passthrough", default=None
        Preprocessing of one image (a RGB PIL image, or a float (3, H, W) tensor
        in [0, 1] for float arrays). ``None``: conversion to a tensor, the
        optional resize and crop, and ImageNet mean/std normalisation;
        ``"passthrough"``: only conversion to a float tensor.
    batch_size : int, default=64
        Images per forward pass.
    device : str or torch.device, default="auto"
        ``"auto"``: CUDA when available, else CPU.
    precision : {"auto", "float32", "bfloat16"}, default="auto"
        ``"auto"``: bf16 autocast on CUDA, float32 on CPU. Output is float32.
    num_workers : int, default=0
        ``DataLoader`` worker processes decoding images.
    channels_last : bool or "auto", default="auto"
        Channels-last memory format; ``"auto"`` for modules with 2-D convolutions.
    cache : bool, str or path-like, default=None
        On-disk feature cache (see :class:`TimmFeatureExtractor`); the module is
        identified by the class name and a hash of its parameters and buffers.
    progress : bool, default=False
        Show a progress bar.
    return_tensors : {"numpy", "torch"}, default="numpy"
        ``"torch"``: return float32 tensors left on ``device_`` (filled batch
        by batch there), so features extracted on a GPU reach a scorer with a
        ``device`` (e.g. ``LogMEScorer(device="cuda")`` in a ``Pipeline``)
        without a copy through host memory. Cached features are stored on the
        host either way.

    Attributes
    ----------
    model_ : torch.nn.Module
        The fitted copy of ``module``, in eval mode.
    transform_ : callable
        The preprocessing applied to each image.
    device_ : torch.device
        Device the model is on.
    channels_last_ : bool
        Whether the channels-last memory format is used.
    n_features_out_ : int or None
        Width of the output, known after the first ``transform``.
    output_ : str
        Name of the output :meth:`transform` returns: ``"probabilities"`` with
        ``softmax=True``, else ``"features"``.

    See Also
    --------
    TimmFeatureExtractor : The same for timm models, with their data config.

    Notes
    -----
    Named outputs of :meth:`transform_outputs`, all read from one forward pass
    of each batch (the ``layer`` hook fires during the module's own forward):

    - a module returning a tensor: ``"features"`` is the pooled output of
      ``layer`` when it is set, else the pooled module output; ``"logits"`` is
      the pooled module output (its classifier's logits, for a classifier) and
      ``"probabilities"`` their softmax;
    - a module returning a dict: each key is an output of that name (pooled),
      ``"probabilities"`` is the softmax of ``"logits"`` unless the dict has
      its own, and ``layer``, when set, gives ``"features"``.

    Each output is its own cache entry, shared with :meth:`transform`.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skdisco.features import TorchFeatureExtractor
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU())
    >>> images = np.zeros((5, 16, 16, 3), dtype=np.uint8)
    >>> TorchFeatureExtractor(net).fit_transform(images).shape
    (5, 8)

    A classifier's penultimate features and its probabilities in one pass:

    >>> clf = torch.nn.Sequential(net, torch.nn.AdaptiveAvgPool2d(1),
    ...                           torch.nn.Flatten(), torch.nn.Linear(8, 3))
    >>> ext = TorchFeatureExtractor(clf, layer="2").fit()
    >>> out = ext.transform_outputs(images, ("features", "probabilities"))
    >>> out["features"].shape, out["probabilities"].shape
    ((5, 8), (5, 3))
    """

    _parameter_constraints: dict = {
        **BaseFeatureExtractor._parameter_constraints,
        "module": [torch.nn.Module],
        "layer": [str, None],
        "pooling": [StrOptions({"avg", "cls"})],
        "softmax": ["boolean"],
    }

    def __init__(
        self,
        module,
        *,
        layer=None,
        pooling="avg",
        softmax=False,
        image_size=None,
        preprocessing=None,
        batch_size=64,
        device="auto",
        precision="auto",
        num_workers=0,
        channels_last="auto",
        cache=None,
        progress=False,
        return_tensors="numpy",
    ):
        self.module = module
        self.layer = layer
        self.pooling = pooling
        self.softmax = softmax
        self.image_size = image_size
        self.preprocessing = preprocessing
        self.batch_size = batch_size
        self.device = device
        self.precision = precision
        self.num_workers = num_workers
        self.channels_last = channels_last
        self.cache = cache
        self.progress = progress
        self.return_tensors = return_tensors

    def _build_model(self):
        if self.softmax and self.layer is not None:
            raise ValueError(
                f"softmax=True returns the probabilities of the module's output; "
                f"it cannot be combined with layer={self.layer!r}. For the layer's "
                "features and the probabilities in one pass, use "
                "transform_outputs(X, ('features', 'probabilities'))."
            )
        model = copy.deepcopy(self.module)
        if self.layer is not None:
            names = [name for name, _ in model.named_modules() if name]
            if self.layer not in names:
                close = difflib.get_close_matches(self.layer, names, n=5)
                raise ValueError(
                    f"The module has no submodule named {self.layer!r}."
                    + (f" Close names: {close}." if close else "")
                )
        return model

    def _default_transform(self, model):
        if self.image_size is not None:
            return create_transform(
                input_size=(3, self.image_size, self.image_size),
                interpolation="bicubic",
                crop_pct=1.0,
                mean=IMAGENET_DEFAULT_MEAN,
                std=IMAGENET_DEFAULT_STD,
                is_training=False,
            )
        normalize = T.Normalize(IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD)
        return T.Compose([T.Lambda(to_tensor), normalize])

    def _transform_output(self):
        return "probabilities" if self.softmax else "features"

    def _forward_outputs(self, model, x, outputs):
        """The named ``outputs`` of batch ``x`` from one forward pass."""
        hook = self.layer is not None and "features" in outputs
        with contextlib.ExitStack() as stack:
            if hook:
                module = dict(model.named_modules())[self.layer]
                captured = stack.enter_context(_hooked(module))
            raw = model(x)
        got = {}
        for name in outputs:
            if hook and name == "features":
                got[name] = pool_tensor(captured[-1], self.pooling)
            else:
                got[name] = self._named_output(raw, name)
        return got

    def _named_output(self, raw, name):
        """Output ``name`` of the module's return value ``raw``, pooled."""
        if isinstance(raw, Mapping):
            if name in raw:
                return pool_tensor(raw[name], self.pooling)
            if name == "probabilities" and "logits" in raw:
                return pool_tensor(raw["logits"], self.pooling).float().softmax(-1)
            raise ValueError(
                f"The module returns a dict with keys {sorted(raw)}; it has no "
                f"output {name!r} (for 'probabilities' a 'logits' key is enough)."
            )
        if name in ("features", "logits"):
            return pool_tensor(raw, self.pooling)
        if name == "probabilities":
            return pool_tensor(raw, self.pooling).float().softmax(dim=-1)
        hint = " (the output of layer= is 'features' here)" if name == "layer" else ""
        raise ValueError(
            f"Unknown output {name!r}{hint}: a module returning a tensor gives "
            "'features', 'logits' and 'probabilities'; return a dict from its "
            "forward to name other outputs."
        )

    def _model_identity(self):
        return {
            "module": type(self.module).__qualname__,
            "weights": "state:" + self._state_digest(),
            "layer": self.layer,
            "pooling": self.pooling,
            "image_size": self.image_size,
        }
