"""FineTuneClassifier: learning, the penalties' effect, determinism, sklearn API."""

import contextlib
import pickle

import numpy as np
import pytest
import timm
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits

from skdisco.finetune import REGULARIZATIONS, FineTuneClassifier

TINY = dict(pretrained=False, image_size=32, batch_size=16, random_state=0)


@pytest.fixture(autouse=True)
def _one_thread():
    """The machine is shared: one intra-op thread keeps timings predictable."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's 8×8 digits, upsampled to 32×32 uint8, shuffled once."""
    d = load_digits()
    X = (np.kron(d.images, np.ones((4, 4))) * (255 / 16)).round().astype(np.uint8)
    order = np.random.default_rng(0).permutation(len(d.target))
    return X[order], d.target[order]


@pytest.fixture
def tiny(digits):
    X, y = digits
    return X[:32], y[:32] % 2


def test_classifier_learns_digits_above_chance(digits):
    X, y = digits
    clf = FineTuneClassifier(
        "test_resnet",
        optimizer="adam",
        learning_rate=3e-3,
        max_epochs=3,
        **{**TINY, "batch_size": 32},
    )
    clf.fit(X[:600], y[:600])
    accuracy = clf.score(X[600:900], y[600:900])
    assert accuracy > 0.5  # chance is 0.1
    assert clf.classes_.tolist() == list(range(10))
    assert clf.n_epochs_ == 3 and clf.best_epoch_ == 3
    assert clf.history_[-1]["train_accuracy"] > clf.history_[0]["train_accuracy"]
    proba = clf.predict_proba(X[600:610])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-9)
    np.testing.assert_array_equal(
        clf.classes_[proba.argmax(axis=1)], clf.predict(X[600:610])
    )
    assert clf.decision_function(X[:4]).shape == (4, 10)
    assert clf.features(X[:4]).shape == (4, 96)


def test_l2_sp_ends_closest_to_the_starting_weights(digits):
    X, y = digits
    final = {}
    for reg in ("l2-sp", "l2", None):
        clf = FineTuneClassifier(
            "test_resnet",
            regularization=reg,
            alpha=0.1,
            learning_rate=0.05,
            max_epochs=2,
            **TINY,
        ).fit(X[:256], y[:256])
        final[reg] = clf.history_[-1]["distance_total"]
        assert clf.history_[-1]["train_penalty"] >= 0
    # L2-SP pulls towards w⁰; L2 pulls towards 0, so it does not keep the
    # weights near w⁰ -- it ends even farther than no penalty (Li et al., 2018).
    assert final["l2-sp"] < final[None] < final["l2"]


@pytest.mark.parametrize("regularization", [*REGULARIZATIONS, None])
def test_every_regularization_trains_and_records_history(tiny, regularization):
    X, y = tiny
    clf = FineTuneClassifier(
        "test_resnet", regularization=regularization, max_epochs=1, **TINY
    ).fit(X, y)
    (record,) = clf.history_
    assert record["train_loss"] == pytest.approx(
        record["train_data_loss"] + record["train_penalty"]
    )
    assert (record["train_penalty"] > 0) == (regularization is not None)
    assert np.isfinite(record["grad_norm"]) and record["grad_norm"] > 0
    blocks = record["distance"]
    assert {"conv1", "layer1", "layer4"} <= set(blocks)
    assert "fc" not in blocks  # the source classifier is not part of w_S
    assert record["distance_total"] == pytest.approx(
        np.sqrt(sum(d**2 for d in blocks.values()))
    )


def test_classifier_is_deterministic_with_random_state(tiny):
    X, y = tiny
    est = FineTuneClassifier(
        "test_resnet", max_epochs=2, augment=True, regularization="l2-sp", **TINY
    )
    a = clone(est).fit(X, y)
    b = clone(est).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.history_[-1]["distance_total"] == b.history_[-1]["distance_total"]


def test_fit_leaves_global_random_states_untouched(tiny):
    X, y = tiny
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    FineTuneClassifier("test_resnet", max_epochs=1, **TINY).fit(X, y)
    torch.testing.assert_close(torch.rand(3), expected)


def test_pickle_round_trip_predicts_the_same(tiny):
    X, y = tiny
    clf = FineTuneClassifier("test_resnet", max_epochs=1, **TINY).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    assert restored.device_ == torch.device("cpu")
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert restored.history_ == clf.history_


def test_clone_and_params_round_trip():
    clf = FineTuneClassifier("test_resnet", alpha=0.5, regularization="l2")
    params = clf.get_params()
    assert params["alpha"] == 0.5 and params["model"] == "test_resnet"
    assert params["regularization"] == "l2" and params["lr_schedule"] == "cosine"
    other = clone(clf).set_params(alpha=0.2, optimizer="adam")
    assert other.alpha == 0.2 and other.optimizer == "adam" and clf.alpha == 0.5
    assert not hasattr(other, "model_")


def test_string_labels_with_gaps(tiny):
    X, y = tiny
    labels = np.where(y == 0, "zebra", "ant")
    clf = FineTuneClassifier("test_resnet", max_epochs=1, **TINY).fit(X, labels)
    assert clf.classes_.tolist() == ["ant", "zebra"]
    assert set(clf.predict(X)) <= {"ant", "zebra"}
    assert clf.decision_function(X).shape == (len(X),)  # binary: log-odds
    gaps = np.where(y == 0, 3, 100)
    clf.fit(X, gaps)
    assert clf.classes_.tolist() == [3, 100]


def test_early_stopping_records_validation_and_restores_best(digits):
    X, y = digits
    clf = FineTuneClassifier(
        "test_resnet",
        early_stopping=True,
        validation_fraction=0.25,
        n_iter_no_change=1,
        learning_rate=0.5,  # too large: the validation loss soon stops improving
        max_epochs=6,
        **TINY,
    ).fit(X[:96], y[:96])
    assert 1 <= clf.best_epoch_ <= clf.n_epochs_ <= 6
    val = [h["val_loss"] for h in clf.history_]
    assert all("val_accuracy" in h for h in clf.history_)
    assert val[clf.best_epoch_ - 1] == min(val)
    if clf.n_epochs_ < 6:
        assert clf.n_epochs_ - clf.best_epoch_ == 1


def test_torch_module_backbone_keeps_the_given_module_unchanged(tiny):
    X, y = tiny
    torch.manual_seed(0)
    backbone = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU()
    )
    backbone[1].requires_grad_(False)  # frozen: neither trained nor penalised
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    clf = FineTuneClassifier(
        backbone, image_size=16, batch_size=16, max_epochs=2, random_state=0
    ).fit(X, y)
    for k, v in backbone.state_dict().items():
        torch.testing.assert_close(v, before[k])
    fitted = clf.model_.backbone
    torch.testing.assert_close(fitted[1].weight, backbone[1].weight)
    assert fitted[0].weight.requires_grad and not fitted[1].weight.requires_grad
    assert set(clf.history_[-1]["distance"]) == {"0"}
    assert clf.history_[-1]["distance"]["0"] > 0
    assert clf.features(X[:3]).shape == (3, 4)
    assert clf.model_.head.in_features == 4


def test_timm_module_backbone_supports_fisher(tiny):
    X, y = tiny
    module = timm.create_model("test_resnet", pretrained=False)
    clf = FineTuneClassifier(
        module,
        regularization="l2-sp-fisher",
        alpha=10.0,
        image_size=32,
        batch_size=16,
        max_epochs=1,
        random_state=0,
    ).fit(X, y)
    assert clf.history_[0]["train_penalty"] > 0
    assert 0 < clf.fisher_mean_ <= clf.fisher_max_
    assert module.num_classes == 1000  # the given module keeps its classifier


def test_unstable_fisher_penalty_warns(tiny):
    X, y = tiny
    clf = FineTuneClassifier(
        "test_resnet", regularization="l2-sp-fisher", alpha=1e9, max_epochs=1, **TINY
    )
    with pytest.warns(UserWarning, match="unstable"), contextlib.suppress(ValueError):
        clf.fit(X, y)  # may also stop on a non-finite loss


def test_fisher_needs_a_source_classifier(tiny):
    X, y = tiny
    backbone = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
    clf = FineTuneClassifier(backbone, regularization="l2-sp-fisher")
    with pytest.raises(ValueError, match="source classifier"):
        clf.fit(X, y)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (dict(X=np.full((4, 3, 8, 8), np.nan, dtype=np.float32)), "NaN"),
        (dict(X=np.full((4, 3, 8, 8), np.inf, dtype=np.float32)), "NaN or inf"),
        (dict(y=np.zeros(8, dtype=int)), "single class"),
        (dict(y=np.arange(5) % 2), "one target per image"),
        (dict(X=np.zeros((0, 8, 8), dtype=np.uint8), y=[]), "no image"),
        (dict(params=dict(regularization="l3")), "regularization"),
        (dict(params=dict(alpha=-1.0)), "alpha"),
        (dict(params=dict(weights="/no/such/file.pth")), "does not exist"),
    ],
)
def test_bad_input_raises_a_clear_value_error(change, match):
    X = change.get("X", np.zeros((8, 8, 8), dtype=np.uint8))
    y = change.get("y", np.arange(len(X)) % 2)
    clf = FineTuneClassifier("test_resnet", **TINY).set_params(
        **change.get("params", {})
    )
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)


def test_weights_with_a_module_is_an_error(tiny):
    X, y = tiny
    clf = FineTuneClassifier(torch.nn.Conv2d(3, 4, 3), weights="x.pth")
    with pytest.raises(ValueError, match="timm model name"):
        clf.fit(X, y)


def test_unfitted_estimator_raises_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        FineTuneClassifier("test_resnet").predict(np.zeros((2, 8, 8), np.uint8))


def test_default_verbose_prints_one_line_per_epoch_on_stderr(tiny, capsys):
    X, y = tiny
    clf = FineTuneClassifier("test_resnet", max_epochs=2, **TINY).fit(X, y)
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert [line.split()[:3] for line in lines] == [
        ["[FineTuneClassifier]", "epoch", "1"],
        ["[FineTuneClassifier]", "epoch", "2"],
    ]
    assert f"{clf.history_[-1]['distance_total']:.4f}" in lines[-1]
    FineTuneClassifier("test_resnet", max_epochs=2, verbose=0, **TINY).fit(X, y)
    assert capsys.readouterr().err == ""
