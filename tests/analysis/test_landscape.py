"""The optimisation-landscape instruments on cases whose answer is known."""

import numpy as np
import pytest
import torch
from sklearn.metrics import log_loss

from skdisco.analysis import (
    LandscapeRecorder,
    compare_landscapes,
    gradient_principal_component,
    loss_smoothness,
    plot_loss_smoothness,
    plot_weight_deviation,
    sharpness,
    weight_deviation,
)
from skdisco.cli import main
from skdisco.finetune import FineTuneClassifier

mse = torch.nn.functional.mse_loss


def _linear(weight):
    """A bias-free linear layer with the given float64 weight."""
    w = torch.as_tensor(weight, dtype=torch.float64)
    layer = torch.nn.Linear(w.shape[1], w.shape[0], bias=False).double()
    with torch.no_grad():
        layer.weight.copy_(w)
    return layer


def _quadratic(seed=0, n=12, d=4):
    """``L(w) = (1/n)‖Xw − y‖²``: Hessian ``A = (2/n) XᵀX``, gradient ``A w − b``."""
    rng = np.random.default_rng(seed)
    X, y, w = rng.normal(size=(n, d)), rng.normal(size=(n, 1)), rng.normal(size=d)
    A = 2.0 / n * X.T @ X
    g = A @ w - 2.0 / n * X.T @ y[:, 0]
    loss = float(np.mean((X @ w - y[:, 0]) ** 2))
    return _linear(w[None]), torch.as_tensor(X), torch.as_tensor(y), A, g, loss, w


# --------------------------------------------------------------------------
# smoothness along the gradient
# --------------------------------------------------------------------------
def test_loss_smoothness_quadratic_is_analytic():
    layer, X, y, A, g, loss, _ = _quadratic()
    eta = np.array([0.01, 0.05, 0.2, 0.5])
    s = loss_smoothness(layer, mse, (X, y), step_sizes=eta)
    expected = loss - eta * (g @ g) + 0.5 * eta**2 * (g @ A @ g)
    np.testing.assert_allclose(s.losses, expected, rtol=1e-12)
    np.testing.assert_allclose(
        s.gradient_distances, eta * np.linalg.norm(A @ g), rtol=1e-12
    )
    assert s.loss == pytest.approx(loss, rel=1e-12)
    assert s.gradient_norm == pytest.approx(np.linalg.norm(g), rel=1e-12)
    assert s.loss_variation == pytest.approx(expected.max() - expected.min())
    assert s.gradient_predictiveness == pytest.approx(0.5 * np.linalg.norm(A @ g))
    assert s.beta_smoothness == pytest.approx(
        np.linalg.norm(A @ g) / np.linalg.norm(g), rel=1e-12
    )
    frame = s.to_frame()
    np.testing.assert_allclose(frame["loss_change"], expected - loss, atol=1e-12)


def test_loss_smoothness_batches_equal_one_batch():
    layer, X, y, *_ = _quadratic(n=12)
    whole = loss_smoothness(layer, mse, (X, y))
    split = loss_smoothness(layer, mse, (X, y), batch_size=5)  # 5 + 5 + 2
    pairs = loss_smoothness(layer, mse, [(X[:7], y[:7]), (X[7:], y[7:])])
    for other in (split, pairs):
        np.testing.assert_allclose(other.losses, whole.losses, rtol=1e-12)
        np.testing.assert_allclose(
            other.gradient_distances, whole.gradient_distances, rtol=1e-10
        )


def test_loss_smoothness_leaves_model_unchanged_float32():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2)
    )
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x, t = torch.randn(10, 3), torch.randint(0, 2, (10,))
    s = loss_smoothness(net, torch.nn.functional.cross_entropy, (x, t))
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k])
        assert v.dtype == torch.float32
    assert s.loss == pytest.approx(
        float(torch.nn.functional.cross_entropy(net(x).double(), t).detach()), rel=1e-6
    )


def test_loss_smoothness_zero_gradient_is_flat():
    layer = _linear([[0.0, 0.0]])
    X, y = torch.eye(2, dtype=torch.float64), torch.zeros(2, 1, dtype=torch.float64)
    s = loss_smoothness(layer, mse, (X, y))
    assert s.loss_variation == 0.0
    assert s.gradient_predictiveness == 0.0
    assert s.beta_smoothness == 0.0


# --------------------------------------------------------------------------
# sharpness
# --------------------------------------------------------------------------
def _at_minimum(X, w):
    """Targets that put ``w`` at the least-squares minimum (zero residual)."""
    return torch.as_tensor(X @ w)[:, None]


def test_sharpness_isotropic_hessian_exact():
    # XᵀX = n I: A = 2I; at the minimum each increase is ½ δᵀAδ = ‖δ‖² = ε²‖w‖².
    X = np.sqrt(4.0) * np.eye(4)
    w = np.array([1.0, -2.0, 0.5, 3.0])
    layer = _linear(w[None])
    value = sharpness(
        layer,
        mse,
        (torch.as_tensor(X), _at_minimum(X, w)),
        epsilon=0.01,
        n_samples=7,
        random_state=0,
    )
    assert value == pytest.approx(0.01**2 * (w @ w), rel=1e-9)


def test_sharpness_expectation_is_trace_formula():
    # E[½ δᵀAδ] = ½ ε² ‖w‖² tr(A) / d for δ uniform on the sphere of radius ε‖w‖.
    rng = np.random.default_rng(1)
    n, d = 20, 4
    X = rng.normal(size=(n, d)) * np.array([1.0, 2.0, 3.0, 4.0])
    w = rng.normal(size=d)
    A = 2.0 / n * X.T @ X
    eps = 1e-2
    value = sharpness(
        _linear(w[None]),
        mse,
        (torch.as_tensor(X), _at_minimum(X, w)),
        epsilon=eps,
        n_samples=4000,
        random_state=0,
    )
    expected = 0.5 * eps**2 * (w @ w) * np.trace(A) / d
    # The per-sample relative spread is ~0.4 here, so 4000 samples give ~0.7 %:
    # 3 % is more than four standard errors.
    assert value == pytest.approx(expected, rel=0.03)


def test_sharpness_filter_normalization_exact():
    # Output unit f weighted by c_f in the loss: increase = Σ_f c_f ‖δ_f‖² / k,
    # and "filter" fixes ‖δ_f‖ = ε‖W_f‖, so the answer is exact.
    X = 2.0 * np.eye(4)
    W = np.array([[1.0, 0.0, 2.0, 0.0], [0.0, 3.0, 0.0, 4.0]])
    c = torch.tensor([1.0, 10.0], dtype=torch.float64)
    Y = torch.as_tensor(X @ W.T)

    def weighted(out, t):
        return ((out - t) ** 2 * c).mean()

    eps = 0.02
    value = sharpness(
        _linear(W),
        weighted,
        (torch.as_tensor(X), Y),
        epsilon=eps,
        normalization="filter",
        n_samples=5,
        random_state=0,
    )
    # mean over n·k entries of (x_iᵀδ_f)² c_f = (4/(4·2)) Σ_f c_f ‖δ_f‖²
    expected = 0.5 * eps**2 * (1.0 * (W[0] @ W[0]) + 10.0 * (W[1] @ W[1]))
    assert value == pytest.approx(expected, rel=1e-9)


def test_sharpness_deterministic_with_random_state():
    layer, X, y, *_ = _quadratic()
    a = sharpness(layer, mse, (X, y), random_state=3)
    b = sharpness(layer, mse, (X, y), random_state=3)
    c = sharpness(layer, mse, (X, y), random_state=4)
    assert a == b
    assert a != c


def test_sharpness_perturbs_weights_not_biases():
    # A network whose only matrix does not affect the loss: sharpness is 0
    # although the bias would change it.
    net = torch.nn.Linear(2, 1).double()
    with torch.no_grad():
        net.weight.zero_()
        net.weight[0, 0] = 1.0
    X = torch.tensor([[0.0, 0.0]], dtype=torch.float64)  # input zero: W is inert
    y = torch.tensor([[0.3]], dtype=torch.float64)
    assert sharpness(net, mse, (X, y), epsilon=0.1, random_state=0) == 0.0


# --------------------------------------------------------------------------
# the gradient's principal component
# --------------------------------------------------------------------------
def test_gradient_component_one_sample_is_rank_one():
    layer = _linear(np.random.default_rng(0).normal(size=(3, 5)))
    x = torch.as_tensor(np.random.default_rng(1).normal(size=(1, 5)))
    y = torch.zeros(1, 3, dtype=torch.float64)
    c = gradient_principal_component(layer, mse, (x, y))
    assert c.rank == 1
    assert c.share == pytest.approx(1.0)
    assert c.energy_share == pytest.approx(1.0)
    assert c.layer == "weight"
    assert c.shape == (3, 5)


def test_gradient_component_orthogonal_samples_rank_k():
    # W = 0, x_i = e_i: G = −(2/(n m)) Σ_i y_i e_iᵀ, singular values of Yᵀ scaled.
    n, m, d = 3, 4, 6
    Y = np.random.default_rng(2).normal(size=(n, m))
    X = np.eye(d)[:n]
    c = gradient_principal_component(
        _linear(np.zeros((m, d))), mse, (torch.as_tensor(X), torch.as_tensor(Y))
    )
    expected = 2.0 / (n * m) * np.linalg.svd(Y, compute_uv=False)
    assert c.rank == n
    np.testing.assert_allclose(c.singular_values, expected, rtol=1e-10)
    assert c.share == pytest.approx(expected[0] / expected.sum())
    assert c.energy_share == pytest.approx(expected[0] ** 2 / (expected**2).sum())


def test_gradient_component_convolution_reshaped_per_filter():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(2, 3, 3), torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 2)
    )
    x, t = torch.randn(5, 2, 6, 6), torch.randint(0, 2, (5,))
    c = gradient_principal_component(
        net, torch.nn.functional.cross_entropy, (x, t), layer="0"
    )
    net64 = net.double()
    loss = torch.nn.functional.cross_entropy(net64(x.double()), t)
    (g,) = torch.autograd.grad(loss, [net64[0].weight])
    expected = np.linalg.svd(g.reshape(3, -1).numpy(), compute_uv=False)
    assert c.layer == "0.weight" and c.shape == (3, 18)
    np.testing.assert_allclose(c.singular_values, expected, rtol=1e-8)


def test_compare_landscapes_rows_match_functions():
    layer, X, y, *_ = _quadratic()
    other, *_ = _quadratic(seed=5)
    frame = compare_landscapes(
        {"a": layer, "b": other}, mse, (X, y), random_state=0, n_samples=5
    )
    assert frame["model"].tolist() == ["a", "b"]
    s = loss_smoothness(other, mse, (X, y))
    c = gradient_principal_component(other, mse, (X, y))
    row = frame.iloc[1]
    assert row["loss_variation"] == pytest.approx(s.loss_variation, rel=1e-12)
    assert row["gradient_share"] == pytest.approx(c.share, rel=1e-12)
    assert np.isfinite(frame["sharpness"]).all()


# --------------------------------------------------------------------------
# fine-tuners: weight deviation, their loss, the recorder
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(16, 16, 16, 3), dtype=np.uint8)
    return X, np.array(["a", "b"] * 8)


def _tiny_backbone():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Conv2d(4, 6, 3)
    )


def _fit(X, y, **params):
    kwargs = dict(
        image_size=16,
        batch_size=8,
        max_epochs=2,
        learning_rate=0.05,
        random_state=0,
        regularization=None,
    )
    kwargs.update(params)
    return FineTuneClassifier(_tiny_backbone(), **kwargs).fit(X, y)


def test_weight_deviation_equals_hand_computation(images):
    X, y = images
    clf = _fit(X, y)
    frame = weight_deviation(clf)
    backbone = _tiny_backbone()  # the same seeded initial weights
    last = frame[frame["epoch"] == 2].set_index("layer")
    assert list(last.index) == ["0", "2"]
    for name in ("0", "2"):
        w0 = torch.cat([p.flatten() for p in backbone.get_submodule(name).parameters()])
        w = torch.cat(
            [p.flatten() for p in clf.model_.backbone.get_submodule(name).parameters()]
        )
        dist = float((w.double() - w0.double()).norm())
        norm = float(w0.double().norm())
        assert last.loc[name, "reference_norm"] == pytest.approx(norm, rel=1e-12)
        assert last.loc[name, "distance"] == pytest.approx(dist, rel=1e-9)
        assert last.loc[name, "relative_deviation"] == pytest.approx(
            dist / norm, rel=1e-9
        )
    blocks = weight_deviation(clf.history_, level="block", total=True)
    assert set(blocks["layer"]) == {"0", "2", "total"}
    assert blocks["epoch"].tolist() == [1, 1, 1, 2, 2, 2]


def test_weight_deviation_unmoved_is_zero(images):
    X, y = images
    clf = _fit(X, y, learning_rate=1e-30, max_epochs=1)
    frame = weight_deviation(clf, total=True)
    np.testing.assert_allclose(frame["relative_deviation"], 0.0, atol=1e-12)


def test_weight_deviation_zero_reference_layer_left_out_with_warning():
    history = [
        {
            "epoch": 1,
            "layer_distance": {"conv": 1.0, "bn": 0.5},
            "layer_reference_norm": {"conv": 2.0, "bn": 0.0},
        }
    ]
    with pytest.warns(UserWarning, match="bn"):
        frame = weight_deviation(history)
    assert frame["layer"].tolist() == ["conv"]
    assert frame["relative_deviation"].tolist() == [0.5]


def test_fine_tuner_loss_is_its_cross_entropy(images):
    X, y = images
    clf = _fit(X, y)
    s = loss_smoothness(clf, batches=(X, y), batch_size=5)
    assert s.loss == pytest.approx(
        log_loss(y, clf.predict_proba(X), labels=clf.classes_), rel=1e-5
    )
    c = gradient_principal_component(clf, batches=(X, y))
    assert c.layer == "backbone.0.weight"
    assert sharpness(clf, batches=(X, y), random_state=0) > -1e-6


def test_recorder_measures_without_changing_training(images):
    X, y = images
    recorder = LandscapeRecorder(
        steps=[0, 3], measures=("smoothness", "sharpness", "gradient"), n_samples=3
    )
    with_cb = _fit(X, y, callback=recorder)
    without = _fit(X, y)
    drop = {"time"}
    assert [
        {k: v for k, v in r.items() if k not in drop} for r in with_cb.history_
    ] == [{k: v for k, v in r.items() if k not in drop} for r in without.history_]
    frame = recorder.to_frame()
    assert frame["step"].tolist() == [0, 3]
    assert frame["epoch"].tolist() == [1, 2]
    assert np.isfinite(frame[["loss_variation", "sharpness", "gradient_share"]]).all(
        axis=None
    )


def test_max_epochs_zero_is_the_starting_network(images):
    X, y = images
    clf = _fit(X, y, max_epochs=0)
    assert clf.history_ == [] and clf.n_epochs_ == 0
    start = _tiny_backbone()
    for p, q in zip(clf.model_.backbone.parameters(), start.parameters()):
        assert torch.equal(p, q)
    assert clf.predict(X).shape == (16,)
    with pytest.raises(ValueError, match="empty"):
        weight_deviation(clf)


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------
def test_bad_input_raises():
    layer, X, y, *_ = _quadratic()
    with pytest.raises(ValueError, match="loss_fn is required"):
        loss_smoothness(layer, batches=(X, y))
    with pytest.raises(ValueError, match="step_sizes"):
        loss_smoothness(layer, mse, (X, y), step_sizes=[0.1, -1.0])
    with pytest.raises(ValueError, match="step_sizes"):
        loss_smoothness(layer, mse, (X, y), step_sizes=[])
    with pytest.raises(ValueError, match="model must be"):
        sharpness("resnet", mse, (X, y))
    with pytest.raises(ValueError, match="targets"):
        sharpness(layer, mse, (X, y[:3]))
    with pytest.raises(ValueError, match="NaN"):
        X_nan = X.clone()
        X_nan[0, 0] = float("nan")
        loss_smoothness(layer, mse, (X_nan, y))
    with pytest.raises(ValueError, match="No trainable layer 'fc'"):
        gradient_principal_component(layer, mse, (X, y), layer="fc")
    with pytest.raises(ValueError, match="iterable of"):
        loss_smoothness(layer, mse, [X])
    with pytest.raises(ValueError, match="scalar"):
        loss_smoothness(layer, lambda o, t: (o - t) ** 2, (X, y))
    with pytest.raises(ValueError, match="is zero"):
        at_min = _linear([[1.0, 1.0]])
        Xm = torch.eye(2, dtype=torch.float64)
        gradient_principal_component(
            at_min, mse, (Xm, _at_minimum(Xm.numpy(), np.ones(2)))
        )
    with pytest.raises(ValueError, match="measures"):
        compare_landscapes({"a": layer}, mse, (X, y), measures=["speed"])
    with pytest.raises(ValueError, match="history"):
        weight_deviation([{"epoch": 1, "distance": {}}])
    with pytest.raises(ValueError, match="fitted FineTune"):
        weight_deviation("history")
    with pytest.raises(ValueError, match="infinite|inf"):
        loss_smoothness(layer, mse, (X * 1e200, y), step_sizes=[1e200])
    with pytest.raises(ValueError):
        sharpness(layer, mse, (X, y), epsilon=0.0)


def test_plots_return_axes():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    layer, X, y, *_ = _quadratic()
    ax = plot_loss_smoothness(loss_smoothness(layer, mse, (X, y)).to_frame())
    assert ax.get_xlabel().startswith("step size")
    frame = weight_deviation(
        [
            {
                "epoch": e,
                "layer_distance": {"a": e, "b": 2.0 * e},
                "layer_reference_norm": {"a": 4.0, "b": 4.0},
            }
            for e in (1, 2)
        ]
    )
    ax = plot_weight_deviation(frame)
    assert len(ax.get_lines()) == 2
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), [0.5, 1.0])
    with pytest.raises(ValueError, match="empty"):
        plot_weight_deviation(frame.iloc[:0])


# --------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------
def test_cli_landscape_writes_table_and_figure(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out, dev, png = tmp_path / "l.csv", tmp_path / "d.csv", tmp_path / "l.png"
    status = main(
        [
            "analyze",
            "landscape",
            "test_resnet=random",
            "--data",
            "digits",
            "--max-samples",
            "40",
            "--image-size",
            "32",
            "--batch-size",
            "20",
            "--finetune-epochs",
            "1",
            "--steps",
            "0,1",
            "--n-samples",
            "2",
            "--output",
            str(out),
            "--deviation-output",
            str(dev),
            "--plot",
            str(png),
            "--quiet",
        ]
    )
    assert status == 0
    import pandas as pd

    table = pd.read_csv(out)
    assert table["stage"].tolist() == ["step", "step", "final"]
    assert table["step"].tolist()[:2] == [0, 1]
    final = table.iloc[-1]
    assert final["relative_deviation"] > 0 and np.isfinite(final["sharpness"])
    deviation = pd.read_csv(dev)
    assert "total" in set(deviation["layer"])
    assert png.stat().st_size > 0
    assert "loss_variation" in capsys.readouterr().out


def test_cli_landscape_bad_input(tmp_path, capsys):
    status = main(
        [
            "analyze",
            "landscape",
            "test_resnet=",
            "--data",
            "digits",
            "--output",
            str(tmp_path / "x.csv"),
        ]
    )
    assert status == 2
    assert "ARCH=WEIGHTS" in capsys.readouterr().err
    status = main(
        [
            "analyze",
            "landscape",
            "test_resnet=random",
            "--data",
            "digits",
            "--step-sizes",
            "0.1,-2",
            "--output",
            str(tmp_path / "x.csv"),
        ]
    )
    assert status == 2
