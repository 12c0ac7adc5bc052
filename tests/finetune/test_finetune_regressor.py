"""FineTuneRegressor: learning real targets, standardisation, shapes, errors."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits

from skdisco.finetune import FineTuneRegressor

TINY = dict(pretrained=False, image_size=32, batch_size=32, random_state=0)


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    X = (np.kron(d.images, np.ones((4, 4))) * (255 / 16)).round().astype(np.uint8)
    order = np.random.default_rng(0).permutation(len(d.target))
    return X[order], d.target[order]


def test_regressor_learns_digit_ink(digits):
    # A continuous target read from the image: the fraction of ink.
    X, _ = digits
    y = 100.0 * X.mean(axis=(1, 2)) / 255.0
    reg = FineTuneRegressor(
        "test_resnet", optimizer="adam", learning_rate=3e-3, max_epochs=3, **TINY
    ).fit(X[:500], y[:500])
    assert reg.score(X[500:800], y[500:800]) > 0.3
    assert reg.history_[-1]["train_r2"] > reg.history_[0]["train_r2"]
    assert reg.y_mean_.shape == (1,) and reg.y_mean_[0] == pytest.approx(y[:500].mean())
    assert reg.predict(X[:5]).shape == (5,)


def test_regressor_learns_ising_temperature():
    mdsdata = pytest.importorskip("mdsdata")
    spins, _, temperature = mdsdata.load_Ising_light()
    spins = np.asarray(spins, dtype=np.uint8)
    X = np.kron(spins[:, :, :], np.ones((2, 2), dtype=np.uint8))  # 32×32
    order = np.random.default_rng(0).permutation(len(X))[:700]
    X, y = X[order], np.asarray(temperature)[order]
    reg = FineTuneRegressor(
        "test_resnet", optimizer="adam", learning_rate=3e-3, max_epochs=3, **TINY
    ).fit(X[:500], y[:500])
    assert reg.score(X[500:], y[500:]) > 0.3


def test_two_dimensional_targets_are_standardised_and_restored(digits):
    X, labels = digits
    X = X[:64]
    y = np.column_stack([1000.0 + 50.0 * labels[:64], np.full(64, 7.0)])
    reg = FineTuneRegressor("test_resnet", max_epochs=1, **TINY).fit(X, y)
    assert reg.n_outputs_ == 2
    np.testing.assert_allclose(reg.y_mean_, y.mean(axis=0))
    np.testing.assert_allclose(reg.y_scale_, [y[:, 0].std(), 1.0])
    pred = reg.predict(X)
    assert pred.shape == (64, 2)
    np.testing.assert_allclose(pred[:, 1], 7.0, atol=1.0)  # the scale of y
    assert abs(pred[:, 0].mean() - 1000.0 - 50.0 * labels[:64].mean()) < 150.0


def test_regressor_deterministic_pickle_and_early_stopping(digits):
    X, labels = digits
    X, y = X[:64], labels[:64].astype(float)
    est = FineTuneRegressor(
        "test_efficientnet", max_epochs=2, early_stopping=True, **TINY
    )
    a, b = clone(est).fit(X, y), clone(est).fit(X, y)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    assert "val_r2" in a.history_[0] and "val_loss" in a.history_[0]
    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(restored.predict(X), a.predict(X))


@pytest.mark.parametrize(
    ("y", "match"),
    [
        (np.r_[np.nan, np.ones(7)], "NaN"),
        (np.r_[np.inf, np.ones(7)], "infinity"),
        (np.ones(5), "one target per image"),
        (np.ones((8, 2, 2)), "1-D or 2-D|dim"),
    ],
)
def test_regressor_bad_targets_raise_value_error(y, match):
    X = np.zeros((8, 16, 16), dtype=np.uint8)
    with pytest.raises(ValueError, match=match):
        FineTuneRegressor("test_resnet", **TINY).fit(X, y)
