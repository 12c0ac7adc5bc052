"""The optimisation landscape of fine-tuning (Liu et al., NeurIPS 2019).

Liu, Long, Wang & Jordan, "Towards Understanding the Transferability of Deep
Representations" (2019) explain why pre-trained representations transfer with
four measurements, each a function here:

* :func:`weight_deviation` -- how far fine-tuning moves each layer, relative to
  its pre-trained weights, ``‖W − W₀‖_F / ‖W₀‖_F`` (from the fine-tuners'
  ``history_``);
* :func:`loss_smoothness` -- the Santurkar et al. (2018) protocol: the range of
  the loss along the negative gradient and the gradient's change there
  ("gradient predictiveness"); :class:`LandscapeRecorder` takes it at chosen
  steps of a fine-tuning;
* :func:`sharpness` -- the mean loss increase under random weight perturbations
  of relative size ε;
* :func:`gradient_principal_component` -- the top singular value of a layer's
  weight gradient and its share of the spectrum.

:func:`compare_landscapes` runs them on several models (pre-trained against
random initialisation) and returns one row per model. Every measurement runs on
a float64 copy of the network (``dtype="float64"``): the model passed in is never
changed, and loss differences of order ε² are not lost to float32 round-off.
"""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..utils._warnings import user_stacklevel
from ._spectra import singular_values

__all__ = [
    "GradientComponent",
    "LandscapeRecorder",
    "LossSmoothness",
    "compare_landscapes",
    "gradient_principal_component",
    "loss_smoothness",
    "plot_loss_smoothness",
    "plot_weight_deviation",
    "sharpness",
    "weight_deviation",
]

#: Default step sizes η of :func:`loss_smoothness`: absolute, three decades.
DEFAULT_STEP_SIZES = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3)

_LEVELS = {
    "layer": ("layer_distance", "layer_reference_norm"),
    "block": ("distance", "reference_norm"),
}


# --------------------------------------------------------------------------
# weight deviation
# --------------------------------------------------------------------------
def _history_of(source):
    if hasattr(source, "get_params") and hasattr(source, "fit"):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(source, "history_")
        return source.history_
    if isinstance(source, (list, tuple)) and all(isinstance(r, dict) for r in source):
        return list(source)
    raise ValueError(
        "weight_deviation needs a fitted FineTuneClassifier/FineTuneRegressor or "
        f"its history_ (a list of dicts); got {type(source).__name__}."
    )


@validate_params(
    {
        "source": "no_validation",
        "level": [StrOptions(set(_LEVELS))],
        "total": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def weight_deviation(source, *, level="layer", total=False):
    """Relative weight deviation ``‖W − W₀‖_F / ‖W₀‖_F`` per layer and epoch.

    Liu et al. (2019, Sec. 3) measure how far fine-tuning moves each layer from
    its pre-trained weights, relative to their size: a pre-trained network stays
    close to its starting point (the flat region pre-training found), a randomly
    initialised one travels further. The distances and norms come from the
    fine-tuners' per-epoch ``history_`` (recorded after each epoch).

    Parameters
    ----------
    source : FineTuneClassifier, FineTuneRegressor or list of dict
        A fitted fine-tuner, or its ``history_``.
    level : {"layer", "block"}, default="layer"
        ``"layer"``: one row per module owning parameters (a convolution with
        its bias, a normalisation's scale and shift); ``"block"``: one per
        top-level block of the backbone (``stem``, ``stages``, ...).
    total : bool, default=False
        Add a row ``layer="total"`` per epoch over the whole backbone.

    Returns
    -------
    frame : pandas.DataFrame
        Columns ``epoch``, ``layer``, ``depth`` (the layer's position in the
        network, 0 first), ``distance`` (``‖W − W₀‖_F``), ``reference_norm``
        (``‖W₀‖_F``) and ``relative_deviation`` (their ratio). A layer whose
        pre-trained weights are all zero has no relative scale: it is left out,
        with a warning naming it.

    Raises
    ------
    ValueError
        If the history is empty (``max_epochs=0``) or lacks the norms (an
        estimator fitted before skdisco recorded them).

    See Also
    --------
    plot_weight_deviation : The table as a figure.
    skdisco.finetune.block_distances : The distances themselves.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.analysis import weight_deviation
    >>> from skdisco.finetune import FineTuneClassifier
    >>> X = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    >>> clf = FineTuneClassifier("test_resnet", pretrained=False, image_size=32,
    ...                          max_epochs=2, batch_size=4, random_state=0)
    >>> frame = weight_deviation(clf.fit(X, [0, 1] * 4), level="block")
    >>> frame.columns.tolist()
    ['epoch', 'layer', 'depth', 'distance', 'reference_norm', 'relative_deviation']
    >>> bool((frame["relative_deviation"] > 0).all())
    True
    """
    import pandas as pd

    history = _history_of(source)
    if not history:
        raise ValueError(
            "The history is empty (max_epochs=0): there is no fine-tuning to "
            "measure a weight deviation over."
        )
    dist_key, norm_key = _LEVELS[level]
    rows, zero = [], set()
    for record in history:
        if dist_key not in record or norm_key not in record:
            raise ValueError(
                f"The history has no {dist_key!r}/{norm_key!r}: it was recorded "
                "by a fine-tuner that did not store the pre-trained norms; fit "
                "it again with this version of skdisco."
            )
        pairs = [
            (name, record[dist_key][name], record[norm_key][name])
            for name in record[norm_key]
        ]
        if total:
            pairs.append(
                ("total", record["distance_total"], record["reference_norm_total"])
            )
        for depth, (name, distance, norm) in enumerate(pairs):
            if norm <= 0:
                zero.add(name)
                continue
            rows.append(
                {
                    "epoch": int(record["epoch"]),
                    "layer": name,
                    "depth": depth,
                    "distance": float(distance),
                    "reference_norm": float(norm),
                    "relative_deviation": float(distance) / float(norm),
                }
            )
    if zero:
        warnings.warn(
            f"Layers with all-zero pre-trained weights have no relative deviation "
            f"and are left out: {', '.join(sorted(zero))}.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    return pd.DataFrame(
        rows,
        columns=[
            "epoch",
            "layer",
            "depth",
            "distance",
            "reference_norm",
            "relative_deviation",
        ],
    )


def _new_axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def plot_weight_deviation(frame, ax=None, *, hue=None):
    """Relative weight deviation against depth, one line per epoch or group.

    Parameters
    ----------
    frame : pandas.DataFrame
        A :func:`weight_deviation` table, possibly several concatenated with a
        column naming each (see ``hue``).
    ax : matplotlib.axes.Axes, default=None
        Axes to draw on; a new figure when None.
    hue : str, default=None
        A column of ``frame`` (e.g. ``"model"``): one line per value, at each
        group's last epoch. ``None``: one line per epoch.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn on.

    See Also
    --------
    weight_deviation : The table.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from skdisco.analysis import plot_weight_deviation
    >>> frame = pd.DataFrame({"epoch": [1, 1], "layer": ["conv", "fc"],
    ...                       "depth": [0, 1], "relative_deviation": [0.1, 0.3]})
    >>> plot_weight_deviation(frame).get_ylabel()
    'relative deviation ‖W − W₀‖ / ‖W₀‖'
    """
    if len(frame) == 0:
        raise ValueError("The weight-deviation table is empty: nothing to plot.")
    ax = _new_axes(ax)
    if hue is None:
        groups = [(f"epoch {e}", g) for e, g in frame.groupby("epoch", sort=True)]
    else:
        groups = [
            (str(name), g[g["epoch"] == g["epoch"].max()])
            for name, g in frame.groupby(hue, sort=False)
        ]
    for label, g in groups:
        g = g[g["layer"] != "total"].sort_values("depth")
        ax.plot(g["depth"], g["relative_deviation"], marker="o", ms=3, label=label)
    ax.set_xlabel("layer (depth in the network)")
    ax.set_ylabel("relative deviation ‖W − W₀‖ / ‖W₀‖")
    ax.set_yscale("log")
    ax.legend(fontsize="small")
    return ax


# --------------------------------------------------------------------------
# the network, its loss and the batches
# --------------------------------------------------------------------------
def _torch_dtype(dtype):
    import torch

    return torch.float64 if dtype == "float64" else torch.float32


def _is_fine_tuner(model):
    from ..finetune._base import BaseFineTuner

    return isinstance(model, BaseFineTuner)


def _fine_tuner_loss(estimator):
    """The fine-tuner's data loss, in the outputs' dtype (no float32 cast)."""
    import torch
    from sklearn.base import is_classifier

    if is_classifier(estimator):
        return torch.nn.functional.cross_entropy
    return torch.nn.functional.mse_loss


def _fine_tuner_targets(estimator, y):
    """``y`` encoded as the fitted fine-tuner encoded its training targets."""
    import torch
    from sklearn.base import is_classifier

    y = np.asarray(y)
    if is_classifier(estimator):
        classes = estimator.classes_
        index = np.searchsorted(classes, y)
        index = np.clip(index, 0, len(classes) - 1)
        unknown = classes[index] != y
        if unknown.any():
            raise ValueError(
                f"y holds labels the classifier was not fitted on: "
                f"{sorted(set(y[unknown].tolist()))[:5]}."
            )
        return torch.as_tensor(index, dtype=torch.long)
    y2 = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    if y2.shape[1] != estimator.n_outputs_:
        raise ValueError(
            f"y has {y2.shape[1]} targets per image; the regressor was fitted on "
            f"{estimator.n_outputs_}."
        )
    return torch.as_tensor((y2 - estimator.y_mean_) / estimator.y_scale_)


def _split_pairs(batches):
    """The (x, y) pairs of ``batches``: one pair (X, y), or an iterable of them."""
    if (
        isinstance(batches, tuple)
        and len(batches) == 2
        and not isinstance(batches[0], (tuple, list))
        and hasattr(batches[0], "__len__")
    ):
        return [batches], True
    pairs = []
    for item in batches:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ValueError(
                "batches must be a pair (X, y) or an iterable of (x, y) pairs; got "
                f"an item of type {type(item).__name__}."
            )
        pairs.append(tuple(item))
    return pairs, False


def _as_tensor(a, dtype):
    import torch

    t = a if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a))
    return t.to(dtype) if t.is_floating_point() else t


def _prepare(model, loss_fn, batches, *, batch_size, dtype, training):
    """A float64 (or float32) copy of the network, its loss and tensor batches."""
    import torch

    tdtype = _torch_dtype(dtype)
    if _is_fine_tuner(model):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(model, "model_")
        net, estimator = model.model_, model
        if loss_fn is None:
            loss_fn = _fine_tuner_loss(model)
    elif isinstance(model, torch.nn.Module):
        net, estimator = model, None
        if loss_fn is None:
            raise ValueError(
                "loss_fn is required for a torch module: pass loss_fn(outputs, "
                "targets), e.g. torch.nn.functional.cross_entropy."
            )
    else:
        raise ValueError(
            "model must be a torch.nn.Module or a fitted FineTuneClassifier/"
            f"FineTuneRegressor; got {type(model).__name__}."
        )
    if not callable(loss_fn):
        raise ValueError(f"loss_fn must be callable; got {type(loss_fn).__name__}.")
    pairs, whole = _split_pairs(batches)
    tensors = []
    for x, y in pairs:
        if estimator is not None:
            images = estimator._images(x)
            x = torch.stack([images[i] for i in range(len(images))])
            y = _fine_tuner_targets(estimator, y)
        x, y = _as_tensor(x, tdtype), _as_tensor(y, tdtype)
        if len(x) != len(y):
            raise ValueError(
                f"A batch holds {len(x)} inputs but {len(y)} targets; pass one "
                "target per input."
            )
        if len(x) == 0:
            raise ValueError("A batch is empty; every batch needs samples.")
        if x.is_floating_point() and not bool(torch.isfinite(x).all()):
            raise ValueError("The inputs hold NaN or infinite values.")
        size = batch_size if (whole and batch_size is not None) else len(x)
        tensors += [(x[i : i + size], y[i : i + size]) for i in range(0, len(x), size)]
    if not tensors:
        raise ValueError("batches is empty: pass (X, y) or some (x, y) batches.")
    device = next(iter(net.parameters()), torch.zeros(())).device
    work = copy.deepcopy(net).to(device=device, dtype=tdtype)
    work.train(training)
    tensors = [(x.to(device), y.to(device)) for x, y in tensors]
    params = [p for p in work.parameters() if p.requires_grad]
    if not params:
        raise ValueError("The network has no trainable parameters.")
    return work, loss_fn, tensors


def _trainable(net):
    return [(n, p) for n, p in net.named_parameters() if p.requires_grad]


def _loss(net, loss_fn, batches, params=None):
    """``L = Σ_b n_b L_b / N`` and, with ``params``, its gradient (float64)."""
    import torch

    n_total = sum(len(x) for x, _ in batches)
    value = 0.0
    grads = None if params is None else [torch.zeros_like(p) for p in params]
    for x, y in batches:
        with torch.set_grad_enabled(params is not None):
            term = loss_fn(net(x), y)
            if term.ndim != 0:
                raise ValueError(
                    "loss_fn must return a scalar (the mean loss of the batch); "
                    f"got shape {tuple(term.shape)}."
                )
            term = term * (len(x) / n_total)
        if not bool(torch.isfinite(term)):
            raise ValueError(
                f"The loss is {float(term)} at these parameters; the step or "
                "perturbation is too large for this network."
            )
        value += float(term.detach().double())
        if params is not None:
            for g, d in zip(
                grads, torch.autograd.grad(term, params, allow_unused=True)
            ):
                if d is not None:
                    g.add_(d)
    return value, grads


def _norm(tensors):
    return math.sqrt(sum(float(t.detach().double().pow(2).sum()) for t in tensors))


# --------------------------------------------------------------------------
# smoothness along the gradient (Santurkar et al. 2018)
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class LossSmoothness:
    """The loss and its gradient along the negative gradient direction.

    Returned by :func:`loss_smoothness`; see there for the definitions.

    Parameters
    ----------
    step_sizes : ndarray of shape (n_steps,)
        The step sizes ``η``.
    losses : ndarray of shape (n_steps,)
        ``L(θ − η g)`` for each ``η``.
    gradient_distances : ndarray of shape (n_steps,)
        ``‖∇L(θ) − ∇L(θ − η g)‖₂`` for each ``η``.
    loss : float
        ``L(θ)``.
    gradient_norm : float
        ``‖g‖₂ = ‖∇L(θ)‖₂``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.analysis import LossSmoothness
    >>> s = LossSmoothness(np.array([0.1, 0.2]), np.array([0.9, 0.7]),
    ...                    np.array([0.1, 0.2]), loss=1.0, gradient_norm=1.0)
    >>> round(s.loss_variation, 6), s.gradient_predictiveness, s.beta_smoothness
    (0.2, 0.2, 1.0)
    """

    step_sizes: np.ndarray
    losses: np.ndarray
    gradient_distances: np.ndarray
    loss: float
    gradient_norm: float

    @property
    def loss_variation(self):
        """``max_η L(θ − η g) − min_η L(θ − η g)``, the loss landscape variation."""
        return float(self.losses.max() - self.losses.min())

    @property
    def gradient_predictiveness(self):
        """``max_η ‖∇L(θ) − ∇L(θ − η g)‖₂`` (smaller: more predictive)."""
        return float(self.gradient_distances.max())

    @property
    def beta_smoothness(self):
        """``max_η ‖∇L(θ) − ∇L(θ − η g)‖ / ‖η g‖``, the effective β-smoothness.

        0 when the gradient is zero (no move, no change).
        """
        if self.gradient_norm == 0:
            return 0.0
        return float(
            (self.gradient_distances / (self.step_sizes * self.gradient_norm)).max()
        )

    def to_frame(self):
        """One row per step size.

        Returns
        -------
        frame : pandas.DataFrame
            Columns ``step_size``, ``loss``, ``loss_change`` (``L(θ − ηg) −
            L(θ)``) and ``gradient_distance``.
        """
        import pandas as pd

        return pd.DataFrame(
            {
                "step_size": self.step_sizes,
                "loss": self.losses,
                "loss_change": self.losses - self.loss,
                "gradient_distance": self.gradient_distances,
            }
        )

    def summary(self):
        """The scalar measures as a dict.

        Returns
        -------
        summary : dict
            ``loss``, ``gradient_norm``, ``loss_variation``,
            ``gradient_predictiveness``, ``beta_smoothness``.
        """
        return {
            "loss": self.loss,
            "gradient_norm": self.gradient_norm,
            "loss_variation": self.loss_variation,
            "gradient_predictiveness": self.gradient_predictiveness,
            "beta_smoothness": self.beta_smoothness,
        }


def _check_step_sizes(step_sizes):
    eta = np.asarray(step_sizes, dtype=np.float64).ravel()
    if eta.size == 0 or not np.all(np.isfinite(eta)) or np.any(eta <= 0):
        raise ValueError(
            "step_sizes must be a non-empty list of positive finite numbers; got "
            f"{list(np.asarray(step_sizes).ravel())[:8]}."
        )
    return eta


_MODEL_PARAMS = {
    "model": "no_validation",
    "loss_fn": [callable, None],
    "batches": "no_validation",
    "batch_size": [Interval(Integral, 1, None, closed="left"), None],
    "training": ["boolean"],
    "dtype": [StrOptions({"float64", "float32"})],
}


def _smoothness(net, loss_fn, batches, eta):
    import torch

    params = [p for _, p in _trainable(net)]
    loss0, g = _loss(net, loss_fn, batches, params)
    start = [p.detach().clone() for p in params]
    losses, dists = [], []
    try:
        for step in eta:
            with torch.no_grad():
                for p, p0, gi in zip(params, start, g):
                    p.copy_(p0 - step * gi)
            loss, g_eta = _loss(net, loss_fn, batches, params)
            losses.append(loss)
            dists.append(_norm([a - b for a, b in zip(g, g_eta)]))
    finally:
        with torch.no_grad():
            for p, p0 in zip(params, start):
                p.copy_(p0)
    return LossSmoothness(
        step_sizes=eta,
        losses=np.array(losses),
        gradient_distances=np.array(dists),
        loss=loss0,
        gradient_norm=_norm(g),
    )


@validate_params(
    {**_MODEL_PARAMS, "step_sizes": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def loss_smoothness(
    model,
    loss_fn=None,
    batches=None,
    *,
    step_sizes=DEFAULT_STEP_SIZES,
    batch_size=None,
    training=False,
    dtype="float64",
):
    """Loss landscape variation and gradient predictiveness along ``−∇L``.

    The protocol of Santurkar et al. (2018) that Liu et al. (2019, Sec. 4)
    apply to fine-tuning: at the current parameters ``θ`` take ``g = ∇L(θ)``;
    for every step size ``η`` on a grid evaluate ``L(θ − η g)`` and
    ``∇L(θ − η g)``. A smooth landscape changes little along the gradient: a
    small loss range ``max_η L − min_η L`` (the "loss landscape variation") and
    a small gradient change ``max_η ‖∇L(θ) − ∇L(θ − η g)‖`` (the "gradient
    predictiveness"; its ratio to the step length ``‖η g‖`` is the effective
    β-smoothness).

    Parameters
    ----------
    model : torch.nn.Module or fitted FineTuneClassifier or FineTuneRegressor
        The network at ``θ``. A fine-tuner contributes its network, its
        preprocessing, its target encoding and its data loss (cross-entropy,
        or mean squared error on standardised targets; the penalty is not
        part of the landscape). Never changed: the measurement runs on a copy.
    loss_fn : callable, default=None
        ``loss_fn(outputs, targets)``, the mean loss of a batch (a scalar
        tensor). Required for a module; ``None`` for a fine-tuner takes its
        data loss.
    batches : (X, y) or iterable of (x, y)
        The data ``L`` is computed on: one pair of arrays or tensors (split
        into ``batch_size`` batches), or an iterable of batches such as a
        ``DataLoader``. For a fine-tuner, images and labels as ``fit`` takes
        them. ``L`` is the sample-weighted mean of the batch losses over all
        of them.
    step_sizes : array-like of float, default=(0.001, 0.003, 0.01, 0.03, 0.1, 0.3)
        The grid of ``η``. Absolute step sizes multiplying the raw gradient, as
        Santurkar et al. move along it (not normalised by ``‖g‖``), so they
        compare with learning rates.
    batch_size : int, default=None
        Batch size when ``batches`` is one pair (X, y); ``None``: one batch.
    training : bool, default=False
        Evaluate the network in training mode (batch-normalisation batch
        statistics, dropout); default eval mode, the deterministic function.
    dtype : {"float64", "float32"}, default="float64"
        Precision of the copy the measurement runs on.

    Returns
    -------
    result : LossSmoothness
        ``loss_variation``, ``gradient_predictiveness``, ``beta_smoothness``,
        and the per-``η`` rows (``to_frame()``).

    See Also
    --------
    LandscapeRecorder : The same at chosen steps of a fine-tuning.
    sharpness : Flatness of the minimum under random perturbations.

    Notes
    -----
    For a quadratic ``L(θ) = ½ θᵀAθ`` the measurements are exact:
    ``L(θ − ηg) = L(θ) − η‖g‖² + ½ η² gᵀAg`` and
    ``‖∇L(θ) − ∇L(θ − ηg)‖ = η‖Ag‖``.

    References: S. Santurkar, D. Tsipras, A. Ilyas, A. Madry, "How does batch
    normalization help optimization?", NeurIPS 2018; H. Liu, M. Long, J. Wang,
    M. I. Jordan, "Towards understanding the transferability of deep
    representations", arXiv:1909.12031, 2019.

    Examples
    --------
    >>> import torch
    >>> from skdisco.analysis import loss_smoothness
    >>> layer = torch.nn.Linear(2, 1, bias=False)
    >>> with torch.no_grad():
    ...     _ = layer.weight.copy_(torch.tensor([[1.0, 1.0]]))
    >>> X, y = torch.eye(2), torch.zeros(2, 1)   # L(w) = ½‖w‖², g = w
    >>> s = loss_smoothness(layer, torch.nn.functional.mse_loss, (X, y),
    ...                     step_sizes=[0.5, 1.0])
    >>> s.losses.tolist(), s.gradient_distances.round(6).tolist()
    ([0.25, 0.0], [0.707107, 1.414214])
    """
    eta = _check_step_sizes(step_sizes)
    net, loss_fn, tensors = _prepare(
        model, loss_fn, batches, batch_size=batch_size, dtype=dtype, training=training
    )
    return _smoothness(net, loss_fn, tensors, eta)


# --------------------------------------------------------------------------
# sharpness under random perturbations
# --------------------------------------------------------------------------
def _perturbable(net):
    """The conv and linear weights: trainable parameters with 2+ dimensions."""
    return [p for _, p in _trainable(net) if p.ndim >= 2]


def _sharpness(net, loss_fn, batches, epsilon, n_samples, normalization, seed):
    import torch

    params = _perturbable(net)
    if not params:
        raise ValueError(
            "The network has no trainable weight with two or more dimensions "
            "(convolution or linear) to perturb."
        )
    loss0, _ = _loss(net, loss_fn, batches)
    start = [p.detach().clone() for p in params]
    generator = torch.Generator().manual_seed(seed)
    increases = []
    try:
        for _ in range(n_samples):
            with torch.no_grad():
                for p, p0 in zip(params, start):
                    z = torch.randn(p.shape, generator=generator, dtype=torch.float64)
                    w = p0.to(torch.float64).cpu()
                    if normalization == "layer":
                        scale = w.norm() / z.norm()
                    else:  # one scale per output filter (slice along dim 0)
                        dims = tuple(range(1, p.ndim))
                        scale = w.norm(dim=dims, keepdim=True) / z.norm(
                            dim=dims, keepdim=True
                        )
                    p.copy_(p0 + (epsilon * scale * z).to(p0))
            loss, _ = _loss(net, loss_fn, batches)
            increases.append(loss - loss0)
    finally:
        with torch.no_grad():
            for p, p0 in zip(params, start):
                p.copy_(p0)
    return float(np.mean(increases))


@validate_params(
    {
        **_MODEL_PARAMS,
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "normalization": [StrOptions({"layer", "filter"})],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def sharpness(
    model,
    loss_fn=None,
    batches=None,
    *,
    epsilon=1e-3,
    n_samples=20,
    normalization="layer",
    batch_size=None,
    random_state=None,
    training=False,
    dtype="float64",
):
    """Mean loss increase under random weight perturbations of relative size ε.

    ``sharpness = (1/n) Σ_s [L(θ + δ_s) − L(θ)]`` over ``n_samples`` random
    perturbations ``δ_s``. Each convolution or linear weight ``W_l`` (every
    trainable parameter with two or more dimensions) gets ``δ_l = ε ‖W_l‖ z /
    ‖z‖`` with ``z ~ N(0, I)`` (``normalization="layer"``), or the same per
    output filter, ``‖δ_{l,f}‖ = ε ‖W_{l,f}‖`` (``"filter"``, the filter
    normalisation of Li et al. 2018); biases and normalisation parameters are
    not perturbed, as in Li et al.'s filter normalisation. Scaling by the
    weights' own norm makes the measure invariant to the rescalings that leave
    a ReLU or normalised network's function unchanged, the objection of Dinh et
    al. (2017) to Keskar et al.'s (2017) absolute box. A flatter minimum --
    Liu et al.'s first finding for pre-trained networks -- has a smaller value.

    Parameters
    ----------
    model : torch.nn.Module or fitted FineTuneClassifier or FineTuneRegressor
        The network, as for :func:`loss_smoothness`.
    loss_fn : callable, default=None
        As for :func:`loss_smoothness`.
    batches : (X, y) or iterable of (x, y)
        As for :func:`loss_smoothness`.
    epsilon : float, default=1e-3
        Relative size ``ε`` of the perturbation of each layer (or filter).
    n_samples : int, default=20
        Random perturbations averaged.
    normalization : {"layer", "filter"}, default="layer"
        Scale the perturbation per layer or per output filter.
    batch_size : int, default=None
        As for :func:`loss_smoothness`.
    random_state : int, RandomState instance or None, default=None
        Seeds the perturbations (a private torch generator; global states are
        untouched).
    training : bool, default=False
        As for :func:`loss_smoothness`.
    dtype : {"float64", "float32"}, default="float64"
        As for :func:`loss_smoothness`; at ``ε = 1e-3`` the increase is of
        order ``ε²`` relative to the loss, below float32's resolution.

    Returns
    -------
    sharpness : float
        The mean loss increase (can be negative away from a minimum).

    See Also
    --------
    loss_smoothness : Smoothness along the gradient.

    Notes
    -----
    Near a minimum ``L(θ + δ) − L(θ) ≈ ∇Lᵀδ + ½ δᵀHδ``; with one layer of
    ``d`` weights, ``E[δδᵀ] = ε²‖W‖² I / d``, so the expectation is
    ``½ ε² ‖W‖² tr(H) / d`` plus a zero-mean gradient term.

    Examples
    --------
    >>> import torch
    >>> from skdisco.analysis import sharpness
    >>> layer = torch.nn.Linear(2, 1, bias=False)
    >>> with torch.no_grad():
    ...     _ = layer.weight.copy_(torch.tensor([[3.0, 4.0]]))
    >>> X, y = torch.eye(2), torch.tensor([[3.0], [4.0]])  # at the minimum, H = I
    >>> value = sharpness(layer, torch.nn.functional.mse_loss, (X, y),
    ...                   epsilon=0.1, random_state=0)
    >>> round(value, 10)  # ½ ε² ‖W‖² exactly, whatever the direction
    0.125
    """
    seed = int(check_random_state(random_state).randint(0, 2**31 - 1))
    net, loss_fn, tensors = _prepare(
        model, loss_fn, batches, batch_size=batch_size, dtype=dtype, training=training
    )
    return _sharpness(net, loss_fn, tensors, epsilon, n_samples, normalization, seed)


# --------------------------------------------------------------------------
# the gradient's principal component
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class GradientComponent:
    """The singular spectrum of one layer's weight gradient.

    Returned by :func:`gradient_principal_component`.

    Parameters
    ----------
    layer : str
        The parameter decomposed (its name in the network).
    shape : tuple of int
        Shape of the gradient matrix (output units, inputs per unit).
    singular_values : ndarray of shape (rank,)
        Its non-zero singular values, descending.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.analysis import GradientComponent
    >>> c = GradientComponent("fc.weight", (2, 2), np.array([3.0, 1.0]))
    >>> c.top_singular_value, c.share, c.energy_share
    (3.0, 0.75, 0.9)
    """

    layer: str
    shape: tuple
    singular_values: np.ndarray

    @property
    def top_singular_value(self):
        """``σ₁``, the gradient's principal component."""
        return float(self.singular_values[0])

    @property
    def share(self):
        """``σ₁ / Σσ``."""
        return float(self.singular_values[0] / self.singular_values.sum())

    @property
    def energy_share(self):
        """``σ₁² / Σσ² = σ₁² / ‖G‖_F²``."""
        sq = self.singular_values**2
        return float(sq[0] / sq.sum())

    @property
    def rank(self):
        """Number of non-zero singular values."""
        return int(self.singular_values.size)

    def summary(self):
        """The scalar measures as a dict.

        Returns
        -------
        summary : dict
            ``gradient_layer``, ``gradient_top_singular_value``,
            ``gradient_share``, ``gradient_energy_share``, ``gradient_rank``.
        """
        return {
            "gradient_layer": self.layer,
            "gradient_top_singular_value": self.top_singular_value,
            "gradient_share": self.share,
            "gradient_energy_share": self.energy_share,
            "gradient_rank": self.rank,
        }


def _find_layer(net, layer):
    named = _trainable(net)
    if layer is None:
        for name, p in named:
            if p.ndim >= 2:
                return name, p
        raise ValueError("The network has no trainable weight matrix.")
    by_name = dict(named)
    for candidate in (layer, f"{layer}.weight"):
        if candidate in by_name:
            p = by_name[candidate]
            if p.ndim < 2:
                raise ValueError(
                    f"Parameter {candidate!r} has shape {tuple(p.shape)}: a layer's "
                    "weight gradient needs a matrix (linear) or a convolution kernel."
                )
            return candidate, p
    matrices = [n for n, p in named if p.ndim >= 2]
    raise ValueError(
        f"No trainable layer {layer!r} in the network; weight matrices are "
        f"{matrices[:6]}{' ...' if len(matrices) > 6 else ''}."
    )


def _gradient_component(net, loss_fn, batches, layer):
    name, p = _find_layer(net, layer)
    _, (grad,) = _loss(net, loss_fn, batches, [p])
    G = grad.detach().to("cpu").double().reshape(p.shape[0], -1).numpy()
    sigma = singular_values(G, centering=False)
    if sigma.size == 0:
        raise ValueError(
            f"The gradient of {name!r} is zero on these batches: it has no "
            "principal component."
        )
    return GradientComponent(layer=name, shape=G.shape, singular_values=sigma)


@validate_params(
    {**_MODEL_PARAMS, "layer": [str, None]},
    prefer_skip_nested_validation=True,
)
def gradient_principal_component(
    model,
    loss_fn=None,
    batches=None,
    *,
    layer=None,
    batch_size=None,
    training=False,
    dtype="float64",
):
    """The top singular value of a layer's weight gradient and its share.

    Liu et al. (2019, Sec. 4.2) attribute the better-conditioned landscape of
    pre-trained networks to a suppressed principal component of the gradient.
    What is decomposed here: the gradient ``G = ∂L/∂W`` of the loss over all
    the given batches with respect to one layer's weight ``W``, reshaped to a
    matrix with one row per output unit (``(c_out, c_in·k_h·k_w)`` for a
    convolution, ``(out, in)`` for a linear layer) -- the matrix the optimiser
    steps along. For a linear layer ``G = Σ_i δ_i x_iᵀ / N`` (backpropagated
    errors times inputs), so its rank is at most the number of samples. The
    result reports ``σ₁``, ``σ₁ / Σσ`` and ``σ₁² / Σσ²``.

    Parameters
    ----------
    model : torch.nn.Module or fitted FineTuneClassifier or FineTuneRegressor
        The network, as for :func:`loss_smoothness`.
    loss_fn : callable, default=None
        As for :func:`loss_smoothness`.
    batches : (X, y) or iterable of (x, y)
        As for :func:`loss_smoothness`.
    layer : str, default=None
        A module name (its ``weight`` is used) or a parameter name, as in
        ``named_parameters()`` (``"backbone.conv_stem"``); ``None``: the first
        trainable weight with two or more dimensions (the first layer, whose
        gradient Liu et al.'s analysis of a two-layer network concerns).
    batch_size : int, default=None
        As for :func:`loss_smoothness`.
    training : bool, default=False
        As for :func:`loss_smoothness`.
    dtype : {"float64", "float32"}, default="float64"
        As for :func:`loss_smoothness`.

    Returns
    -------
    component : GradientComponent
        ``top_singular_value``, ``share``, ``energy_share``, ``rank``.

    Raises
    ------
    ValueError
        If the gradient of the layer is zero (no principal component).

    See Also
    --------
    compare_landscapes : Pre-trained against random initialisation.

    Examples
    --------
    >>> import torch
    >>> from skdisco.analysis import gradient_principal_component
    >>> layer = torch.nn.Linear(3, 2, bias=False)
    >>> x, y = torch.tensor([[1.0, 2.0, 2.0]]), torch.tensor([[5.0, -1.0]])
    >>> c = gradient_principal_component(layer, torch.nn.functional.mse_loss, (x, y))
    >>> c.rank, c.share  # one sample: a rank-one gradient
    (1, 1.0)
    """
    net, loss_fn, tensors = _prepare(
        model, loss_fn, batches, batch_size=batch_size, dtype=dtype, training=training
    )
    return _gradient_component(net, loss_fn, tensors, layer)


# --------------------------------------------------------------------------
# several models, several steps
# --------------------------------------------------------------------------
_MEASURES = ("smoothness", "sharpness", "gradient")


def _check_measures(measures):
    measures = tuple(measures)
    unknown = [m for m in measures if m not in _MEASURES]
    if not measures or unknown:
        raise ValueError(
            f"measures must be a non-empty subset of {_MEASURES}; got {measures}."
        )
    return measures


def _measure(net, loss_fn, batches, *, measures, eta, epsilon, n_samples, layer, seed):
    row = {}
    if "smoothness" in measures:
        row.update(_smoothness(net, loss_fn, batches, eta).summary())
    if "sharpness" in measures:
        row["sharpness"] = _sharpness(
            net, loss_fn, batches, epsilon, n_samples, "layer", seed
        )
    if "gradient" in measures:
        row.update(_gradient_component(net, loss_fn, batches, layer).summary())
    return row


@validate_params(
    {
        "models": [dict],
        "loss_fn": [callable, None],
        "batches": "no_validation",
        "measures": ["array-like"],
        "step_sizes": ["array-like"],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "layer": [str, None],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "training": ["boolean"],
        "dtype": [StrOptions({"float64", "float32"})],
    },
    prefer_skip_nested_validation=True,
)
def compare_landscapes(
    models,
    loss_fn=None,
    batches=None,
    *,
    measures=_MEASURES,
    step_sizes=DEFAULT_STEP_SIZES,
    epsilon=1e-3,
    n_samples=20,
    layer=None,
    batch_size=None,
    random_state=None,
    training=False,
    dtype="float64",
):
    """The landscape measurements of several models on the same data.

    The comparison Liu et al. make: the same architecture from pre-trained and
    from random initialisation (after fine-tuning, or at its start), each
    measured with :func:`loss_smoothness`, :func:`sharpness` (per-layer
    normalisation) and :func:`gradient_principal_component`.

    Parameters
    ----------
    models : dict of str to model
        Name -> a torch module or a fitted fine-tuner.
    loss_fn : callable, default=None
        As for :func:`loss_smoothness` (required when a model is a module).
    batches : (X, y) or iterable of (x, y)
        As for :func:`loss_smoothness`; the same data for every model.
    measures : sequence of {"smoothness", "sharpness", "gradient"}, \
default=("smoothness", "sharpness", "gradient")
        Which measurements to make.
    step_sizes : array-like of float, default=(0.001, 0.003, 0.01, 0.03, 0.1, 0.3)
        As for :func:`loss_smoothness`.
    epsilon : float, default=1e-3
        As for :func:`sharpness`.
    n_samples : int, default=20
        As for :func:`sharpness`.
    layer : str, default=None
        As for :func:`gradient_principal_component`.
    batch_size : int, default=None
        As for :func:`loss_smoothness`.
    random_state : int, RandomState instance or None, default=None
        Seeds the sharpness perturbations (the same seed for every model).
    training : bool, default=False
        As for :func:`loss_smoothness`.
    dtype : {"float64", "float32"}, default="float64"
        As for :func:`loss_smoothness`.

    Returns
    -------
    frame : pandas.DataFrame
        One row per model: ``model``, then ``loss``, ``gradient_norm``,
        ``loss_variation``, ``gradient_predictiveness``, ``beta_smoothness``
        (smoothness), ``sharpness``, and ``gradient_layer``,
        ``gradient_top_singular_value``, ``gradient_share``,
        ``gradient_energy_share``, ``gradient_rank`` (gradient).

    See Also
    --------
    LandscapeRecorder : The same measurements during fine-tuning.

    Examples
    --------
    >>> import torch
    >>> from skdisco.analysis import compare_landscapes
    >>> _ = torch.manual_seed(0)
    >>> X, y = torch.randn(16, 4), torch.randint(0, 2, (16,))
    >>> models = {"a": torch.nn.Linear(4, 2), "b": torch.nn.Linear(4, 2)}
    >>> frame = compare_landscapes(models, torch.nn.functional.cross_entropy, (X, y),
    ...                            random_state=0)
    >>> frame["model"].tolist(), bool((frame["sharpness"].abs() < 1e-3).all())
    (['a', 'b'], True)
    """
    import pandas as pd

    measures = _check_measures(measures)
    eta = _check_step_sizes(step_sizes)
    if not models:
        raise ValueError("models is empty: pass name -> model.")
    seed = int(check_random_state(random_state).randint(0, 2**31 - 1))
    rows = []
    for name, model in models.items():
        net, fn, tensors = _prepare(
            model,
            loss_fn,
            batches,
            batch_size=batch_size,
            dtype=dtype,
            training=training,
        )
        row = _measure(
            net,
            fn,
            tensors,
            measures=measures,
            eta=eta,
            epsilon=epsilon,
            n_samples=n_samples,
            layer=layer,
            seed=seed,
        )
        rows.append({"model": name, **row})
    return pd.DataFrame(rows)


class LandscapeRecorder:
    """Landscape measurements at chosen steps of a fine-tuning (a callback).

    Pass it as ``callback=`` to :class:`~skdisco.finetune.FineTuneClassifier`
    or :class:`~skdisco.finetune.FineTuneRegressor`: before each update whose
    index is in ``steps`` it measures, on that step's batch and at the
    parameters the update starts from, what :func:`compare_landscapes`
    measures -- Santurkar et al.'s protocol is exactly this, along training.
    The measurement runs on a float64 copy of the network, so the fine-tuning
    is unchanged by it.

    Parameters
    ----------
    steps : iterable of int or None, default=None
        Update indices (0: before the first) to measure at; ``None``: every
        step.
    measures : sequence of {"smoothness", "sharpness", "gradient"}, \
default=("smoothness", "gradient")
        Which measurements to make.
    step_sizes : array-like of float, default=(0.001, 0.003, 0.01, 0.03, 0.1, 0.3)
        As for :func:`loss_smoothness`.
    epsilon : float, default=1e-3
        As for :func:`sharpness`.
    n_samples : int, default=20
        As for :func:`sharpness`.
    layer : str, default=None
        As for :func:`gradient_principal_component`.
    training : bool, default=True
        Measure in training mode, the loss the optimiser sees (batch
        statistics); False: eval mode.
    random_state : int, default=0
        Seeds the sharpness perturbations.

    Attributes
    ----------
    records_ : list of dict
        One dict per measured step (``step``, ``epoch``, then the measures).

    See Also
    --------
    loss_smoothness, compare_landscapes

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.analysis import LandscapeRecorder
    >>> from skdisco.finetune import FineTuneClassifier
    >>> X = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    >>> recorder = LandscapeRecorder(steps=[0, 3])
    >>> clf = FineTuneClassifier("test_resnet", pretrained=False, image_size=32,
    ...                          max_epochs=2, batch_size=4, random_state=0,
    ...                          callback=recorder).fit(X, [0, 1] * 4)
    >>> recorder.to_frame()[["step", "epoch"]].values.tolist()
    [[0, 1], [3, 2]]
    """

    def __init__(
        self,
        steps=None,
        *,
        measures=("smoothness", "gradient"),
        step_sizes=DEFAULT_STEP_SIZES,
        epsilon=1e-3,
        n_samples=20,
        layer=None,
        training=True,
        random_state=0,
    ):
        self.steps = None if steps is None else {int(s) for s in steps}
        if self.steps is not None and any(s < 0 for s in self.steps):
            raise ValueError(f"steps must be non-negative; got {sorted(self.steps)}.")
        self.measures = _check_measures(measures)
        self.step_sizes = _check_step_sizes(step_sizes)
        if not (epsilon > 0 and math.isfinite(epsilon)):
            raise ValueError(f"epsilon must be a positive number; got {epsilon}.")
        if int(n_samples) < 1:
            raise ValueError(f"n_samples must be at least 1; got {n_samples}.")
        self.epsilon = float(epsilon)
        self.n_samples = int(n_samples)
        self.layer = layer
        self.training = bool(training)
        self.random_state = int(random_state)
        self.records_ = []

    def __call__(self, step):
        """Measure at ``step`` if it is one of :attr:`steps`.

        Parameters
        ----------
        step : skdisco.finetune.TrainingStep
            What the fine-tuner passes.
        """
        if self.steps is not None and step.step not in self.steps:
            return
        net = copy.deepcopy(step.network).to(_torch_dtype("float64"))
        net.train(self.training)
        loss_fn = _fine_tuner_loss(step.estimator)
        x = step.inputs.to(_torch_dtype("float64"))
        t = step.targets
        t = t.to(x.dtype) if t.is_floating_point() else t
        row = _measure(
            net,
            loss_fn,
            [(x, t)],
            measures=self.measures,
            eta=self.step_sizes,
            epsilon=self.epsilon,
            n_samples=self.n_samples,
            layer=self.layer,
            seed=self.random_state,
        )
        self.records_.append({"step": step.step, "epoch": step.epoch, **row})

    def to_frame(self):
        """The measurements, one row per measured step.

        Returns
        -------
        frame : pandas.DataFrame
            ``step``, ``epoch`` and the measures' columns (as in
            :func:`compare_landscapes`).
        """
        import pandas as pd

        return pd.DataFrame(self.records_)


def plot_loss_smoothness(frame, ax=None, *, hue=None):
    """The loss change ``L(θ − ηg) − L(θ)`` against the step size ``η``.

    Parameters
    ----------
    frame : pandas.DataFrame
        :meth:`LossSmoothness.to_frame` rows, possibly several concatenated
        with a column naming each (see ``hue``).
    ax : matplotlib.axes.Axes, default=None
        Axes to draw on; a new figure when None.
    hue : str, default=None
        A column of ``frame``: one line per value; ``None``: one line.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn on.

    See Also
    --------
    loss_smoothness : The measurement.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from skdisco.analysis import plot_loss_smoothness
    >>> frame = pd.DataFrame({"step_size": [0.1, 1.0], "loss_change": [-0.1, 0.2]})
    >>> plot_loss_smoothness(frame).get_xscale()
    'log'
    """
    if len(frame) == 0:
        raise ValueError("The smoothness table is empty: nothing to plot.")
    ax = _new_axes(ax)
    groups = [(None, frame)] if hue is None else list(frame.groupby(hue, sort=False))
    for label, g in groups:
        g = g.sort_values("step_size")
        ax.plot(
            g["step_size"],
            g["loss_change"],
            marker="o",
            ms=3,
            label=None if label is None else str(label),
        )
    ax.axhline(0.0, color="grey", lw=0.5)
    ax.set_xscale("log")
    ax.set_xlabel("step size η along −∇L")
    ax.set_ylabel("L(θ − η∇L) − L(θ)")
    if hue is not None:
        ax.legend(fontsize="small")
    return ax
