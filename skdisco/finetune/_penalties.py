"""Explicit inductive-bias penalties (Li, Grandvalet & Davoine, ICML 2018).

Pure torch functions over lists of parameters and their pre-trained values
``w⁰``. Every penalty is computed in float32 whatever the parameters' dtype, and
is an explicit term of the loss (never an optimizer ``weight_decay``):

* :func:`l2_penalty` -- ``½‖w‖²``;
* :func:`l2_sp_penalty` -- ``½‖w − w⁰‖²``;
* :func:`fisher_l2_sp_penalty` -- ``½ Σ_j F_j (w_j − w⁰_j)²``;
* :func:`group_lasso_sp_penalty` -- ``Σ_g √N_g ‖w_g − w⁰_g‖₂`` over the groups
  of :func:`parameter_groups`.

The strengths ``alpha``/``beta`` multiply these outside (see
:class:`ExplicitPenalty`). :func:`diagonal_fisher` estimates ``F`` and
:func:`block_distances` measures ``‖w − w⁰‖`` and :func:`block_norms` ``‖w⁰‖``
per top-level block or per layer (:func:`layer_name`).
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch

REGULARIZATIONS = ("l2", "l2-sp", "l2-sp-fisher", "group-lasso-sp")


def _f32(t):
    return t.to(torch.float32)


def l2_penalty(params):
    """``½ Σ ‖w‖²`` over ``params``, in float32.

    Parameters
    ----------
    params : iterable of torch.Tensor
        The parameters.

    Returns
    -------
    penalty : torch.Tensor
        A float32 scalar, differentiable with respect to ``params``.

    Examples
    --------
    >>> import torch
    >>> from skdisco.finetune import l2_penalty
    >>> float(l2_penalty([torch.tensor([3.0, 4.0])]))
    12.5
    """
    terms = [_f32(p).pow(2).sum() for p in params]
    return 0.5 * torch.stack(terms).sum() if terms else torch.zeros(())


def l2_sp_penalty(params, refs):
    """``½ Σ ‖w − w⁰‖²``: L2 towards the starting point ``refs``, in float32.

    Parameters
    ----------
    params : sequence of torch.Tensor
        The parameters ``w``.
    refs : sequence of torch.Tensor
        Their pre-trained values ``w⁰`` (same shapes, no gradient).

    Returns
    -------
    penalty : torch.Tensor
        A float32 scalar.

    Examples
    --------
    >>> import torch
    >>> from skdisco.finetune import l2_sp_penalty
    >>> float(l2_sp_penalty([torch.tensor([3.0, 4.0])], [torch.tensor([1.0, 4.0])]))
    2.0
    """
    terms = [(_f32(p) - r).pow(2).sum() for p, r in zip(params, refs, strict=True)]
    return 0.5 * torch.stack(terms).sum() if terms else torch.zeros(())


def fisher_l2_sp_penalty(params, refs, fisher):
    """``½ Σ_j F_j (w_j − w⁰_j)²``: L2-SP weighted by the diagonal Fisher ``F``.

    Parameters
    ----------
    params, refs : sequence of torch.Tensor
        The parameters and their pre-trained values.
    fisher : sequence of torch.Tensor
        The diagonal Fisher information of each parameter (same shapes), for
        instance from :func:`diagonal_fisher`.

    Returns
    -------
    penalty : torch.Tensor
        A float32 scalar.

    Examples
    --------
    >>> import torch
    >>> from skdisco.finetune import fisher_l2_sp_penalty
    >>> w, w0 = torch.tensor([3.0, 4.0]), torch.tensor([1.0, 2.0])
    >>> float(fisher_l2_sp_penalty([w], [w0], [torch.tensor([1.0, 0.0])]))
    2.0
    """
    terms = [
        (f * (_f32(p) - r).pow(2)).sum()
        for p, r, f in zip(params, refs, fisher, strict=True)
    ]
    return 0.5 * torch.stack(terms).sum() if terms else torch.zeros(())


def parameter_groups(module):
    """The groups of group-lasso-SP: one per output unit of each layer.

    For every submodule, its own parameters (``recurse=False``) that share the
    same leading (output) dimension ``n_out`` are grouped unit by unit: group
    ``g`` holds slice ``g`` along dimension 0 of each of them. A convolution's
    group is one filter with its bias (``N_g = c_in·k_h·k_w + 1``), a linear
    layer's one output neuron's incoming weights with its bias, a normalisation
    layer's one channel's scale and shift (``N_g = 2``). A tensor with leading
    dimension 1 (class token, position embedding) is one group; a 0-d tensor is a
    group of one.

    Parameters
    ----------
    module : torch.nn.Module
        The (pre-trained part of the) network.

    Returns
    -------
    groups : list of (list of str, int, int)
        For each set of tensors sharing a leading dimension: the parameter
        names (as in ``module.named_parameters()``), the number of units
        ``n_out`` and the size ``N_g`` of one unit's group.

    Examples
    --------
    >>> import torch
    >>> from skdisco.finetune import parameter_groups
    >>> parameter_groups(torch.nn.Linear(3, 2))
    [(['weight', 'bias'], 2, 4)]
    """
    groups = []
    for prefix, sub in module.named_modules():
        by_units = OrderedDict()
        for name, p in sub.named_parameters(recurse=False):
            if not p.requires_grad:
                continue
            full = f"{prefix}.{name}" if prefix else name
            n_out = p.shape[0] if p.ndim else 1
            by_units.setdefault(n_out, []).append((full, p.numel() // max(n_out, 1)))
        for n_out, members in by_units.items():
            names = [name for name, _ in members]
            groups.append((names, n_out, sum(size for _, size in members)))
    return groups


def group_lasso_sp_penalty(module, refs, groups=None):
    """``Σ_g √N_g ‖w_g − w⁰_g‖₂`` over the groups of :func:`parameter_groups`.

    Parameters
    ----------
    module : torch.nn.Module
        The network whose parameters are penalised.
    refs : dict of str to torch.Tensor
        Pre-trained value of each parameter, by name.
    groups : list, default=None
        Precomputed :func:`parameter_groups` of ``module``.

    Returns
    -------
    penalty : torch.Tensor
        A float32 scalar.

    Examples
    --------
    >>> import torch
    >>> from skdisco.finetune import group_lasso_sp_penalty
    >>> layer = torch.nn.Linear(3, 2)
    >>> refs = {n: p.detach().clone() for n, p in layer.named_parameters()}
    >>> float(group_lasso_sp_penalty(layer, refs).detach()) < 1e-4  # at w = w0
    True
    """
    if groups is None:
        groups = parameter_groups(module)
    params = dict(module.named_parameters())
    terms = []
    for names, n_out, size in groups:
        diff = torch.cat(
            [(_f32(params[n]) - refs[n]).reshape(n_out, -1) for n in names], dim=1
        )
        # ‖·‖₂ per unit; the epsilon keeps the gradient finite at w = w⁰.
        norms = (diff.pow(2).sum(dim=1) + 1e-12).sqrt()
        terms.append(math.sqrt(size) * norms.sum())
    return torch.stack(terms).sum() if terms else torch.zeros(())


def diagonal_fisher(log_prob_fn, params, batches, *, labels="sample", generator=None):
    """Diagonal Fisher information of a source classifier on target inputs.

    ``F_j = (1/m) Σ_i (∂ log p(ŷ_i | x_i; w⁰) / ∂w_j)²`` where ``ŷ_i`` is drawn
    from the model's own predictive distribution ``p(· | x_i; w⁰)``
    (``labels="sample"``: a one-sample Monte Carlo estimate of the expectation
    ``Σ_k p_k (∂ log p_k/∂w_j)²`` that Li et al. use) or is its most probable
    class (``labels="argmax"``). The target labels are never used. Gradients are
    per image (one backward pass each).

    Parameters
    ----------
    log_prob_fn : callable
        Maps a batch of inputs to log-probabilities ``(n, n_source_classes)``.
    params : sequence of torch.Tensor
        Parameters to differentiate (requires_grad).
    batches : iterable of torch.Tensor
        Input batches (already on the right device).
    labels : {"sample", "argmax"}, default="sample"
        How ``ŷ`` is chosen.
    generator : torch.Generator, default=None
        Random generator of the sampled labels (on the inputs' device).

    Returns
    -------
    fisher : list of torch.Tensor
        One float32 tensor per parameter, same shapes.

    Examples
    --------
    >>> import torch
    >>> from skdisco.finetune import diagonal_fisher
    >>> _ = torch.manual_seed(0)
    >>> layer = torch.nn.Linear(3, 4)
    >>> fisher = diagonal_fisher(
    ...     lambda x: layer(x).log_softmax(dim=1),
    ...     list(layer.parameters()),
    ...     [torch.randn(5, 3)],
    ...     labels="argmax",
    ... )
    >>> [tuple(f.shape) for f in fisher]
    [(4, 3), (4,)]
    """
    fisher = [torch.zeros_like(p, dtype=torch.float32) for p in params]
    m = 0
    for batch in batches:
        for x in batch:
            log_p = log_prob_fn(x[None]).float()[0]
            if labels == "sample":
                k = torch.multinomial(log_p.detach().exp(), 1, generator=generator)
                k = int(k)
            else:
                k = int(log_p.argmax())
            grads = torch.autograd.grad(log_p[k], params, allow_unused=True)
            for f, g in zip(fisher, grads):
                if g is not None:
                    f.add_(g.detach().float().pow(2))
            m += 1
    return [f / max(m, 1) for f in fisher]


def block_name(param_name):
    """The top-level block of a parameter: the first component of its name.

    Parameters
    ----------
    param_name : str
        A name from ``module.named_parameters()``.

    Returns
    -------
    block : str
        The name's first dotted component.

    Examples
    --------
    >>> from skdisco.finetune import block_name
    >>> block_name("stages.0.blocks.1.conv_dw.weight")
    'stages'
    """
    return param_name.split(".", 1)[0]


def layer_name(param_name):
    """The layer (module) that owns a parameter: its name without the last part.

    Parameters
    ----------
    param_name : str
        A name from ``module.named_parameters()``.

    Returns
    -------
    layer : str
        The owning module's name; a parameter registered on the root module is
        its own layer.

    Examples
    --------
    >>> from skdisco.finetune import layer_name
    >>> layer_name("stages.0.blocks.1.conv_dw.weight")
    'stages.0.blocks.1.conv_dw'
    """
    return param_name.rsplit(".", 1)[0] if "." in param_name else param_name


def _grouped_norms(named_tensors, key):
    squares = OrderedDict()
    for name, t in named_tensors:
        group = key(name)
        squares[group] = squares.get(group, 0.0) + float(
            t.detach().to(torch.float64).pow(2).sum()
        )
    total = math.sqrt(sum(squares.values()))
    return {k: math.sqrt(v) for k, v in squares.items()}, total


@torch.no_grad()
def block_distances(named_params, refs, *, key=block_name):
    """``‖w − w⁰‖₂`` per top-level block (or other grouping), and over all.

    Parameters
    ----------
    named_params : iterable of (str, torch.Tensor)
        Current parameters, by name.
    refs : dict of str to torch.Tensor
        Reference values by name.
    key : callable, default=block_name
        Maps a parameter name to its group: :func:`block_name` (the first name
        component) or :func:`layer_name` (the owning module).

    Returns
    -------
    per_block : dict of str to float
        Distance per group, in network order.
    total : float
        Distance over all the parameters.

    Examples
    --------
    >>> import torch
    >>> from skdisco.finetune import block_distances
    >>> named = [("conv.weight", torch.tensor([3.0])), ("fc.bias", torch.tensor([4.0]))]
    >>> refs = {"conv.weight": torch.tensor([0.0]), "fc.bias": torch.tensor([0.0])}
    >>> block_distances(named, refs)
    ({'conv': 3.0, 'fc': 4.0}, 5.0)
    """
    return _grouped_norms(
        (
            (name, p.detach().to(torch.float64) - refs[name].to(torch.float64))
            for name, p in named_params
        ),
        key,
    )


@torch.no_grad()
def block_norms(named_params, *, key=block_name):
    """``‖w‖₂`` per top-level block (or other grouping), and over all.

    Parameters
    ----------
    named_params : iterable of (str, torch.Tensor)
        Parameters, by name.
    key : callable, default=block_name
        Maps a parameter name to its group, as for :func:`block_distances`.

    Returns
    -------
    per_block : dict of str to float
        Norm per group, in network order.
    total : float
        Norm over all the parameters.

    Examples
    --------
    >>> import torch
    >>> from skdisco.finetune import block_norms
    >>> block_norms([("conv.weight", torch.tensor([3.0, 4.0]))])
    ({'conv': 5.0}, 5.0)
    """
    return _grouped_norms(named_params, key)


class ExplicitPenalty:
    """The regularisation term of the fine-tuning loss.

    ``None``: 0. ``"l2"``: ``alpha·½‖w_S‖² + beta·½‖w_head‖²``. ``"l2-sp"``:
    ``alpha·½‖w_S − w⁰_S‖² + beta·½‖w_head‖²``. ``"l2-sp-fisher"``: ``alpha·½
    Σ_j F_j (w_j − w⁰_j)² + beta·½‖w_head‖²``. ``"group-lasso-sp"``: ``alpha
    Σ_g √N_g ‖w_g − w⁰_g‖₂ + beta·½‖w_head‖²``. ``w_S`` are the parameters of
    the pre-trained backbone, ``w_head`` those (weight and bias) of the new head.

    Parameters
    ----------
    regularization : str or None
        One of :data:`REGULARIZATIONS`, or None.
    alpha, beta : float
        Strengths on the backbone and on the head.
    backbone : torch.nn.Module
        The pre-trained part.
    head : torch.nn.Module
        The new head.
    fisher : list of torch.Tensor, default=None
        Diagonal Fisher per backbone parameter (``"l2-sp-fisher"`` only).

    Examples
    --------
    >>> import torch
    >>> from skdisco.finetune import ExplicitPenalty
    >>> backbone, head = torch.nn.Linear(3, 3), torch.nn.Linear(3, 2)
    >>> penalty = ExplicitPenalty("l2-sp", 0.01, 0.01, backbone, head)
    >>> float(penalty.backbone_term().detach())  # the backbone has not moved
    0.0
    """

    def __init__(self, regularization, alpha, beta, backbone, head, fisher=None):
        self.regularization = regularization
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.backbone = backbone
        self.head = head
        named = [(n, p) for n, p in backbone.named_parameters() if p.requires_grad]
        self.names = [n for n, _ in named]
        self.refs = {n: p.detach().float().clone() for n, p in named}
        self.fisher = fisher
        self.groups = (
            parameter_groups(backbone) if regularization == "group-lasso-sp" else None
        )

    def backbone_term(self):
        """The regularisation of the backbone alone, before ``alpha``.

        Returns
        -------
        term : torch.Tensor
            A float32 scalar: the L2, L2-SP, L2-SP-Fisher or group-lasso-SP
            term of the backbone's parameters.
        """
        params = dict(self.backbone.named_parameters())
        current = [params[n] for n in self.names]
        refs = [self.refs[n] for n in self.names]
        if self.regularization == "l2":
            return l2_penalty(current)
        if self.regularization == "l2-sp":
            return l2_sp_penalty(current, refs)
        if self.regularization == "l2-sp-fisher":
            return fisher_l2_sp_penalty(current, refs, self.fisher)
        return group_lasso_sp_penalty(self.backbone, self.refs, self.groups)

    def __call__(self):
        """The penalty value, a float32 scalar (0 for ``regularization=None``)."""
        device = next(self.head.parameters()).device
        if self.regularization is None:
            return torch.zeros((), device=device)
        value = self.alpha * self.backbone_term().to(device)
        return value + self.beta * l2_penalty(self.head.parameters())

    def distances(self, key=block_name):
        """``‖w − w⁰‖`` per top-level backbone block (or ``key`` group), in total.

        Parameters
        ----------
        key : callable, default=block_name
            Parameter name -> group, as for :func:`block_distances`.

        Returns
        -------
        per_block : dict of str to float
            Distance per group.
        total : float
            Distance over the whole backbone.
        """
        params = dict(self.backbone.named_parameters())
        return block_distances(((n, params[n]) for n in self.names), self.refs, key=key)

    def reference_norms(self, key=block_name):
        """``‖w⁰‖`` per top-level backbone block (or ``key`` group), in total.

        Parameters
        ----------
        key : callable, default=block_name
            Parameter name -> group, as for :func:`block_distances`.

        Returns
        -------
        per_block : dict of str to float
            Norm of the pre-trained weights per group.
        total : float
            Norm over the whole backbone.
        """
        return block_norms(((n, self.refs[n]) for n in self.names), key=key)
