"""The explicit penalties against hand computations on tiny modules."""

import math

import numpy as np
import pytest
import torch

from skdisco.finetune import (
    ExplicitPenalty,
    block_distances,
    diagonal_fisher,
    fisher_l2_sp_penalty,
    group_lasso_sp_penalty,
    l2_penalty,
    l2_sp_penalty,
    parameter_groups,
)


def _tiny():
    """conv(2→3, 3×3) → BN(3) → flatten → linear(12→2); a head linear(2→2)."""
    torch.manual_seed(0)
    backbone = torch.nn.Sequential(
        torch.nn.Conv2d(2, 3, 3),
        torch.nn.BatchNorm2d(3),
        torch.nn.Flatten(),
        torch.nn.Linear(12, 2),
    )
    head = torch.nn.Linear(2, 2)
    refs = {n: p.detach().clone() for n, p in backbone.named_parameters()}
    with torch.no_grad():  # move away from w⁰ (BN starts at 1/0: make it differ)
        for p in backbone.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return backbone, head, refs


def _np(t):
    return t.detach().double().numpy()


def _f(t):
    return t.detach().item()


def test_l2_and_l2_sp_match_the_formulas():
    backbone, head, refs = _tiny()
    w = {n: _np(p) for n, p in backbone.named_parameters()}
    w0 = {n: _np(r) for n, r in refs.items()}
    params = list(backbone.parameters())
    expected_l2 = 0.5 * sum((v**2).sum() for v in w.values())
    expected_sp = 0.5 * sum(((w[n] - w0[n]) ** 2).sum() for n in w)
    assert _f(l2_penalty(params)) == pytest.approx(expected_l2, rel=1e-6)
    assert _f(l2_sp_penalty(params, list(refs.values()))) == pytest.approx(
        expected_sp, rel=1e-6
    )
    head_l2 = 0.5 * sum((_np(p) ** 2).sum() for p in head.parameters())
    for reg, backbone_term in (("l2", expected_l2), ("l2-sp", expected_sp)):
        pen = ExplicitPenalty(reg, 0.3, 0.7, backbone, head)
        pen.refs = {n: r.float() for n, r in refs.items()}  # w⁰ before the shift
        value = pen()
        assert value.dtype == torch.float32
        assert _f(value) == pytest.approx(0.3 * backbone_term + 0.7 * head_l2)
    assert _f(ExplicitPenalty(None, 0.3, 0.7, backbone, head)()) == 0.0


def test_penalties_are_float32_on_low_precision_parameters():
    p = torch.full((1000,), 1.001, dtype=torch.bfloat16, requires_grad=True)
    r = torch.ones(1000)
    value = l2_sp_penalty([p], [r])
    assert value.dtype == torch.float32
    expected = 0.5 * 1000 * (float(p[0].detach().float()) - 1.0) ** 2
    assert _f(value) == pytest.approx(expected, rel=1e-5)


def test_parameter_groups_are_output_units():
    backbone, _, _ = _tiny()
    groups = parameter_groups(backbone)
    assert groups == [
        (["0.weight", "0.bias"], 3, 2 * 3 * 3 + 1),  # a filter and its bias
        (["1.weight", "1.bias"], 3, 2),  # a BN channel's scale and shift
        (["3.weight", "3.bias"], 2, 12 + 1),  # a neuron's weights and bias
    ]


def test_group_lasso_sp_matches_a_loop_over_units():
    backbone, _, refs = _tiny()
    w = {n: _np(p) for n, p in backbone.named_parameters()}
    w0 = {n: _np(r) for n, r in refs.items()}
    expected = 0.0
    for layer, n_out in (("0", 3), ("1", 3), ("3", 2)):
        for g in range(n_out):
            diff = np.concatenate(
                [
                    (w[f"{layer}.{kind}"][g] - w0[f"{layer}.{kind}"][g]).ravel()
                    for kind in ("weight", "bias")
                ]
            )
            expected += math.sqrt(diff.size) * np.linalg.norm(diff)
    value = group_lasso_sp_penalty(backbone, {n: r.float() for n, r in refs.items()})
    assert _f(value) == pytest.approx(expected, rel=1e-5)


def test_group_lasso_sp_has_a_finite_gradient_at_the_reference():
    backbone, _, _ = _tiny()
    refs = {n: p.detach().clone() for n, p in backbone.named_parameters()}
    value = group_lasso_sp_penalty(backbone, refs)
    value.backward()
    assert _f(value) == pytest.approx(0.0, abs=1e-4)
    assert all(torch.isfinite(p.grad).all() for p in backbone.parameters())


def test_fisher_penalty_matches_the_formula():
    backbone, _, refs = _tiny()
    torch.manual_seed(1)
    fisher = [torch.rand_like(p) for p in backbone.parameters()]
    expected = 0.5 * sum(
        (_np(f) * (_np(p) - _np(refs[n])) ** 2).sum()
        for f, (n, p) in zip(fisher, backbone.named_parameters())
    )
    value = fisher_l2_sp_penalty(
        list(backbone.parameters()), list(refs.values()), fisher
    )
    assert _f(value) == pytest.approx(expected, rel=1e-5)


def _softmax_regression():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 4)
    x = torch.randn(5, 3)
    return model, x


def _log_probs(model):
    return lambda x: model(x).log_softmax(dim=-1)


def test_diagonal_fisher_with_predicted_labels_matches_the_closed_form():
    # log p_k = z_k - logsumexp(z), z = W x + b:  ∂/∂W = (e_k - p) xᵀ, ∂/∂b = e_k - p
    model, x = _softmax_regression()
    W, b = _np(model.weight), _np(model.bias)
    X = x.double().numpy()
    fW, fb = np.zeros_like(W), np.zeros_like(b)
    for xi in X:
        z = W @ xi + b
        p = np.exp(z - z.max())
        p /= p.sum()
        e = np.eye(4)[p.argmax()]
        fW += np.outer(e - p, xi) ** 2
        fb += (e - p) ** 2
    fisher = diagonal_fisher(
        _log_probs(model),
        [model.weight, model.bias],
        [x[:2], x[2:]],
        labels="argmax",
    )
    np.testing.assert_allclose(_np(fisher[0]), fW / 5, rtol=1e-5)
    np.testing.assert_allclose(_np(fisher[1]), fb / 5, rtol=1e-5)


def test_diagonal_fisher_with_sampled_labels_estimates_the_expectation():
    # The paper's Fisher: Σ_k p_k (∂ log p_k/∂w)², here for one input.
    model, x = _softmax_regression()
    W, b = _np(model.weight), _np(model.bias)
    xi = x[0].double().numpy()
    z = W @ xi + b
    p = np.exp(z - z.max())
    p /= p.sum()
    fb = sum(p[k] * (np.eye(4)[k] - p) ** 2 for k in range(4))
    fW = sum(p[k] * np.outer(np.eye(4)[k] - p, xi) ** 2 for k in range(4))
    batches = [x[:1].expand(500, 3)] * 4
    fisher = diagonal_fisher(
        _log_probs(model),
        [model.weight, model.bias],
        batches,
        generator=torch.Generator().manual_seed(0),
    )
    np.testing.assert_allclose(_np(fisher[1]), fb, rtol=0.15)
    np.testing.assert_allclose(_np(fisher[0]), fW, rtol=0.15, atol=1e-3 * fW.max())


def test_block_distances_per_top_level_block():
    backbone, _, refs = _tiny()
    per_block, total = block_distances(
        backbone.named_parameters(), {n: r.float() for n, r in refs.items()}
    )
    assert list(per_block) == ["0", "1", "3"]
    for block in per_block:
        expected = math.sqrt(
            sum(
                ((_np(p) - _np(refs[n])) ** 2).sum()
                for n, p in backbone.named_parameters()
                if n.startswith(block + ".")
            )
        )
        assert per_block[block] == pytest.approx(expected, rel=1e-6)
    assert total == pytest.approx(
        math.sqrt(sum(d**2 for d in per_block.values())), rel=1e-9
    )
