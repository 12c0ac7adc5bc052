"""Layer-wise transferability from features: every block scored, one pass.

:func:`layerwise_scores` pools the output of every block of a backbone (timm's
``forward_intermediates``, or forward hooks on named modules) from one forward
pass per batch over the data, then scores each layer's features with the
package's scorers through :func:`~skdisco.selection.rank_models` (error rows,
saturation and set-level scorers handled there). The extraction is the feature
extractors' own (preprocessing, batching, device, precision, the feature
cache): the two private extractor classes below only add "one output per
layer" to :class:`~skdisco.features.TimmFeatureExtractor` and
:class:`~skdisco.features.TorchFeatureExtractor`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from numbers import Integral

import numpy as np

from ..utils._validation import plain_value

#: Name of the final pooled pre-logits features in the layer table.
FINAL_LAYER = "pre_logits"


@dataclass(frozen=True)
class _Layer:
    """One row of the plan: its name, depth and how its output is read."""

    name: str
    depth: int
    index: int | None = None  # forward_intermediates index
    module: str | None = None  # hooked module name
    final: bool = False  # the pooled pre-logits features

    @property
    def output(self):
        return f"layer:{self.depth}:{self.name}"


class _LayersMixin:
    """One named output per planned layer, all read from one forward pass.

    ``plan_`` (a list of :class:`_Layer`) is set after ``fit`` by
    :func:`_plan`; ``transform_outputs(X, [layer.output ...])`` then streams
    ``X`` once. Everything else is the extractor's own machinery.
    """

    def _check_outputs(self, outputs):
        from ..features._base import BaseFeatureExtractor

        names = BaseFeatureExtractor._check_outputs(self, outputs)
        known = {layer.output for layer in self.plan_}
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ValueError(f"Unknown layer output {unknown[0]!r}.")
        return names

    def _output_identity(self, output):
        layer = next(lay for lay in self.plan_ if lay.output == output)
        return {
            "output": "layerwise",
            "index": layer.index,
            "module": layer.module,
            "final": layer.final,
            "pooling": self.pooling,
        }

    def _forward_outputs(self, model, x, outputs):
        from ..features._timm import _hooked
        from ..utils._torch import pool_tensor

        wanted = [lay for lay in self.plan_ if lay.output in outputs]
        hooked = [lay for lay in wanted if lay.module is not None]
        indexed = [lay for lay in wanted if lay.index is not None]
        want_final = any(lay.final for lay in wanted)
        modules = dict(model.named_modules())
        got = {}
        with contextlib.ExitStack() as stack:
            captured = {
                lay.output: stack.enter_context(_hooked(modules[lay.module]))
                for lay in hooked
            }
            if indexed or want_final and hasattr(model, "forward_intermediates"):
                final, inter = self._intermediates(model, x, indexed)
                for lay, out in zip(indexed, inter):
                    got[lay.output] = out
            elif _is_timm(model):
                final = model.forward_features(x)
            else:
                final = model(x)
            if _is_timm(model) and not all(captured.values()):
                model.forward_head(final)  # hooked modules of the head
            if want_final:
                final = (
                    model.forward_head(final, pre_logits=True)
                    if _is_timm(model)
                    else pool_tensor(final, self.pooling)
                )
        for lay in hooked:
            if not captured[lay.output]:
                raise ValueError(
                    f"Module {lay.module!r} did not run in the forward pass, so it "
                    "has no output to score; name a module the forward pass uses."
                )
            got[lay.output] = pool_tensor(captured[lay.output][-1], self.pooling)
        for lay in wanted:
            if lay.final:
                got[lay.output] = final
        return got

    def _intermediates(self, model, x, indexed):
        """``(final features, [pooled layer per index])`` of one pass."""
        from ..utils._torch import pool_tensor

        kwargs = {"indices": [lay.index for lay in indexed] or [0]}
        cls = self.pooling == "cls"
        if cls:
            if not getattr(model, "num_prefix_tokens", 0):
                raise ValueError(
                    "pooling='cls' needs a model with a class token; this one has "
                    "none. Use pooling='avg'."
                )
            kwargs["return_prefix_tokens"] = True
        final, inter = model.forward_intermediates(
            x, intermediates_only=False, **kwargs
        )
        if not indexed:
            return final, []
        if cls:
            return final, [out[1][:, 0] for out in inter]
        return final, [pool_tensor(out, "avg") for out in inter]


def _is_timm(model):
    from ..finetune._network import is_timm_module

    return is_timm_module(model)


def _layer_classes():
    """The two extractor classes with one output per layer (built on first use)."""
    global _CLASSES
    if _CLASSES is None:
        from ..features import TimmFeatureExtractor, TorchFeatureExtractor

        class _TimmLayers(_LayersMixin, TimmFeatureExtractor):
            pass

        class _TorchLayers(_LayersMixin, TorchFeatureExtractor):
            pass

        _CLASSES = (_TimmLayers, _TorchLayers)
    return _CLASSES


_CLASSES = None


def _layers_extractor(model, params):
    """An unfitted extractor of ``model`` that gives one output per layer."""
    from ..features import TimmFeatureExtractor, TorchFeatureExtractor
    from ..selection import make_extractor
    from ._models import is_module, module_transform

    timm_cls, torch_cls = _layer_classes()
    if isinstance(model, str):
        model = make_extractor(model, **params)
    elif is_module(model):
        transform = module_transform(
            model, params.get("image_size"), params.get("preprocessing")
        )
        return torch_cls(model, **{**params, "preprocessing": transform})
    if isinstance(model, TimmFeatureExtractor):
        own = model.get_params(deep=False)
        if own.get("layer") is not None or own.get("output") != "features":
            own.update(layer=None, output="features")
        return timm_cls(**own)
    if isinstance(model, TorchFeatureExtractor):
        own = model.get_params(deep=False)
        own.update(layer=None, softmax=False)
        return torch_cls(**own)
    raise ValueError(
        f"model must be a timm name or spec, a torch.nn.Module, a "
        f"TimmFeatureExtractor or a TorchFeatureExtractor; got "
        f"{type(model).__name__}."
    )


def _plan(model, layers):
    """The layers to read from the fitted ``model``, in depth order."""
    if layers is None:
        if hasattr(model, "forward_intermediates") and getattr(
            model, "feature_info", None
        ):
            info = model.feature_info
            plan = [
                _Layer(str(info[i]["module"]), i, index=i) for i in range(len(info))
            ]
            return [*plan, _Layer(FINAL_LAYER, len(plan), final=True)]
        children = [name for name, _ in model.named_children()]
        if not children:
            raise ValueError(
                "The model has no submodules and no forward_intermediates; name "
                "the modules to score with layers=[...]."
            )
        return [_Layer(name, i, module=name) for i, name in enumerate(children)]
    if isinstance(layers, (str, Integral)):
        layers = [layers]
    layers = list(layers)
    if not layers:
        raise ValueError("layers is empty; give module names or stage indices.")
    if all(isinstance(lay, str) for lay in layers):
        names = {name for name, _ in model.named_modules() if name}
        missing = [lay for lay in layers if lay not in names]
        if missing:
            import difflib

            close = difflib.get_close_matches(missing[0], sorted(names), n=5)
            raise ValueError(
                f"The model has no module named {plain_value(missing[0])!r}."
                + (f" Close names: {close}." if close else "")
            )
        if len(set(layers)) != len(layers):
            raise ValueError("layers names a module twice; name each once.")
        return [_Layer(name, i, module=name) for i, name in enumerate(layers)]
    if all(isinstance(lay, Integral) and not isinstance(lay, bool) for lay in layers):
        if not hasattr(model, "forward_intermediates"):
            raise ValueError(
                "Integer layers index timm's forward_intermediates stages; this "
                "model has none. Name its modules instead (layers=['...'])."
            )
        n = len(getattr(model, "feature_info", []) or [])
        out = []
        for lay in layers:
            if not -n <= lay < n:
                raise ValueError(
                    f"Layer index {lay} is out of range: the model has {n} stages "
                    f"(indices {-n}..{n - 1})."
                )
            i = lay % n
            out.append(_Layer(str(model.feature_info[i]["module"]), i, index=i))
        if len({lay.index for lay in out}) != len(out):
            raise ValueError("layers names a stage twice; name each once.")
        return sorted(out, key=lambda lay: lay.index)
    raise ValueError(
        "layers must be module names (str) or stage indices (int), not a mix; "
        f"got {layers!r}."
    )


def layer_features(
    model,
    X,
    *,
    layers=None,
    pooling="avg",
    image_size=None,
    preprocessing=None,
    batch_size=64,
    device="auto",
    feature_cache=None,
    progress=False,
):
    """Pooled features of every layer of ``model`` on ``X``, from one pass.

    Parameters
    ----------
    model : str, torch.nn.Module or feature extractor
        As for :func:`layerwise_scores`.
    X : images
        What the feature extractors take (arrays, paths, PIL images, a
        ``Dataset``).
    layers, pooling, image_size, preprocessing, batch_size, device, \
feature_cache, progress
        As for :func:`layerwise_scores`.

    Returns
    -------
    features : dict of str to ndarray of shape (n_images, width)
        One float32 array per layer, keyed by layer name, in depth order.

    See Also
    --------
    layerwise_scores : The same features, scored.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.analysis import layer_features
    >>> images = np.zeros((4, 32, 32, 3), dtype=np.uint8)
    >>> feats = layer_features("test_convnext=random", images, image_size=32)
    >>> {name: f.shape for name, f in feats.items()}  # doctest: +NORMALIZE_WHITESPACE
    {'stages.0': (4, 24), 'stages.1': (4, 32), 'stages.2': (4, 48),
     'stages.3': (4, 64), 'pre_logits': (4, 64)}
    """
    plan, feats = _extract_layers(
        model,
        X,
        layers=layers,
        pooling=pooling,
        image_size=image_size,
        preprocessing=preprocessing,
        batch_size=batch_size,
        device=device,
        feature_cache=feature_cache,
        progress=progress,
    )
    return {lay.name: feats[lay.output] for lay in plan}


def _extract_layers(
    model,
    X,
    *,
    layers,
    pooling,
    image_size,
    preprocessing,
    batch_size,
    device,
    feature_cache,
    progress,
):
    if pooling not in ("avg", "cls"):
        raise ValueError(f"pooling must be 'avg' or 'cls'; got {pooling!r}.")
    params = dict(
        image_size=image_size,
        preprocessing=preprocessing,
        batch_size=batch_size,
        device=device,
        cache=feature_cache,
        progress=progress,
    )
    ext = _layers_extractor(model, params).set_params(pooling=pooling)
    ext.fit()
    ext.plan_ = _plan(ext.model_, layers)
    feats = ext.transform_outputs(X, [lay.output for lay in ext.plan_])
    return ext.plan_, feats


def layerwise_scores(
    model,
    X,
    y,
    *,
    layers=None,
    scorers=("logme",),
    pooling="avg",
    image_size=None,
    preprocessing=None,
    batch_size=64,
    device="auto",
    feature_cache=None,
    progress=False,
):
    """Transferability of every block of a backbone, from one forward pass.

    Each layer's output is pooled to one vector per image (spatial positions
    or tokens averaged, or the class token), every layer from the same single
    pass of each batch through the model, and each scorer scores each layer's
    features on ``y`` as :func:`~skdisco.selection.rank_models` scores a model:
    a layer on which a scorer fails gets NaN and the reason, never losing the
    other rows.

    Parameters
    ----------
    model : str, torch.nn.Module or feature extractor
        A model as :func:`~skdisco.selection.rank_models` takes it (timm name,
        offline weight package, ``"ARCH=WEIGHTS"``, ``"ARCH=random"``), a
        :class:`~skdisco.features.TimmFeatureExtractor` or
        :class:`~skdisco.features.TorchFeatureExtractor` (its own ``layer`` and
        ``output`` are replaced by the layers), or a ``torch.nn.Module``.
    X : images
        The target images, as the extractors take them.
    y : array-like of shape (n_samples,)
        Target of the target task.
    layers : list of str or list of int, default=None
        Which layers. ``None``: for models with timm's
        ``forward_intermediates``, every stage of ``model.feature_info`` and
        then the pooled pre-logits features (layer ``"pre_logits"``, what
        ``rank_models`` scores); for other modules, the output of each
        top-level child (``named_children``). Strings name modules of
        ``named_modules()`` (forward hooks, depths in the order given); ints
        index ``forward_intermediates`` stages (negative from the end).
    scorers : str, estimator, list or dict, default=("logme",)
        The scorers, as :func:`~skdisco.selection.rank_models` takes them.
    pooling : {"avg", "cls"}, default="avg"
        ``"avg"`` averages spatial positions or tokens; ``"cls"`` takes the
        class token (token models).
    image_size, preprocessing, batch_size, device, feature_cache, progress
        As for the extractors (:class:`~skdisco.features.TimmFeatureExtractor`;
        ``feature_cache`` is their ``cache``: one entry per layer).

    Returns
    -------
    table : pandas.DataFrame
        One row per layer and scorer, layers in depth order: ``layer`` (module
        name, or ``"pre_logits"``), ``depth`` (0 = first layer), ``n_features``,
        ``scorer``, ``score`` (NaN when it failed), ``error`` (None when it
        did not).

    See Also
    --------
    layer_features : The pooled features of every layer.
    plot_layerwise_scores : Score against depth.
    skdisco.selection.rank_models : Scores of whole models.

    Notes
    -----
    For a timm model the pass is ``forward_intermediates(x, indices=...,
    intermediates_only=False)``, whose final features also feed
    ``forward_head(pre_logits=True)``; hooked modules fire during the same
    pass. So ``L`` layers cost one extraction, not ``L``.

    Examples
    --------
    >>> from skdisco.analysis import layerwise_scores
    >>> from skdisco.datasets import load_digit_images
    >>> X, y = load_digit_images(60)
    >>> table = layerwise_scores("test_convnext=random", X, y, image_size=32)
    >>> table[["layer", "depth", "n_features", "scorer"]]
            layer  depth  n_features scorer
    0    stages.0      0          24  logme
    1    stages.1      1          32  logme
    2    stages.2      2          48  logme
    3    stages.3      3          64  logme
    4  pre_logits      4          64  logme
    >>> bool(table["score"].notna().all())
    True
    """
    import pandas as pd

    from ..selection import rank_models
    from ..selection._registry import resolve_scorers

    scorer_map = resolve_scorers(scorers)
    if y is None:
        raise ValueError("y (the target of the target task) is required.")
    plan, feats = _extract_layers(
        model,
        X,
        layers=layers,
        pooling=pooling,
        image_size=image_size,
        preprocessing=preprocessing,
        batch_size=batch_size,
        device=device,
        feature_cache=feature_cache,
        progress=progress,
    )
    ranking = rank_models(
        {lay.output: feats[lay.output] for lay in plan}, y=y, scorers=scorer_map
    ).set_index("model")
    records = []
    for lay in plan:
        row = ranking.loc[lay.output]
        for sname in scorer_map:
            score = float(row[sname])
            records.append(
                {
                    "layer": lay.name,
                    "depth": lay.depth,
                    "n_features": int(feats[lay.output].shape[1]),
                    "scorer": sname,
                    "score": score,
                    "error": None if np.isfinite(score) else row["error"],
                }
            )
    table = pd.DataFrame.from_records(records)
    table["error"] = pd.Series([r["error"] for r in records], dtype=object)
    return table


def plot_layerwise_scores(table, *, scorer=None, normalize=False, ax=None):
    """Score against depth, one line per scorer.

    Parameters
    ----------
    table : pandas.DataFrame
        What :func:`layerwise_scores` returns.
    scorer : str or list of str, default=None
        Which scorers to draw; ``None``: all of them.
    normalize : bool, default=False
        Rescale each scorer's scores to [0, 1] (min to max over the layers), so
        scorers on different scales share one axis.
    ax : matplotlib Axes, default=None
        Where to draw; ``None`` creates a figure.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on; x ticks are the layer names.

    See Also
    --------
    layerwise_scores : The table this draws.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from skdisco.analysis import plot_layerwise_scores
    >>> table = pd.DataFrame({"layer": ["a", "b"], "depth": [0, 1],
    ...                       "n_features": [4, 8], "scorer": "logme",
    ...                       "score": [0.1, 0.5], "error": None})
    >>> ax = plot_layerwise_scores(table)
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['a', 'b']
    """
    from ..selection._plot import _pyplot

    needed = {"layer", "depth", "scorer", "score"}
    if not needed <= set(getattr(table, "columns", ())):
        raise ValueError(
            f"table must be what layerwise_scores returns, with columns "
            f"{sorted(needed)}."
        )
    names = list(dict.fromkeys(table["scorer"]))
    if scorer is not None:
        wanted = [scorer] if isinstance(scorer, str) else list(scorer)
        unknown = [s for s in wanted if s not in names]
        if unknown:
            raise ValueError(
                f"Scorer {plain_value(unknown[0])!r} is not in the table; it has "
                f"{names}."
            )
        names = wanted
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.8))
    for sname in names:
        part = table[table["scorer"] == sname].sort_values("depth")
        values = part["score"].to_numpy(dtype=float)
        if normalize:
            values = _min_max(values)
        ax.plot(part["depth"], values, marker="o", label=sname)
    layers = table.drop_duplicates("depth").sort_values("depth")
    ax.set_xticks(layers["depth"].to_numpy())
    ax.set_xticklabels(layers["layer"].tolist(), rotation=30, ha="right")
    ax.set_xlabel("layer (depth)")
    ax.set_ylabel("score (min-max normalised)" if normalize else "score")
    ax.set_title("Layer-wise transferability")
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def _min_max(values):
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return values
    low, high = finite.min(), finite.max()
    if high == low:
        return np.where(np.isfinite(values), 0.5, np.nan)
    return (values - low) / (high - low)
