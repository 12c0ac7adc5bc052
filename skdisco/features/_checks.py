"""Properties every feature extractor must have, checked on one architecture.

The extractor counterpart of :func:`skdisco.utils.estimator_checks.check_scorer`
(image transformers do not fit ``sklearn.utils.estimator_checks``, which feeds 2-D
tabular data): output shape and dtype, determinism, batch-size invariance,
input-form invariance, ``transform_outputs`` agreeing with ``transform``,
``clone`` and pickling.
"""

from __future__ import annotations

import pickle

import numpy as np
from sklearn.base import clone


def _images(n_images, size, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n_images, size, size, 3), dtype=np.uint8)


def check_feature_extractor(
    extractor, *, n_images=5, image_size=32, expected_width=None, atol=1e-5
):
    """Assert the feature-extractor contract on random images.

    Parameters
    ----------
    extractor : BaseFeatureExtractor
        Unfitted extractor (it is cloned, never modified). Use ``random_state``
        or local weights so that two fits give the same model.
    n_images : int, default=5
        Images in the probe batch.
    image_size : int, default=32
        Side of the random uint8 probe images.
    expected_width : int, default=None
        Expected output width (e.g. ``model.head_hidden_size``); ``None`` skips
        that check.
    atol : float, default=1e-5
        Tolerance of the batch-size and input-form invariance checks (float32
        kernels may reorder sums with the batch size).

    Raises
    ------
    AssertionError
        Naming the property that fails.

    Examples
    --------
    >>> from skdisco.features import TimmFeatureExtractor, check_feature_extractor
    >>> check_feature_extractor(
    ...     TimmFeatureExtractor("test_resnet", pretrained=False, image_size=32,
    ...                          random_state=0), expected_width=96)
    """
    images = _images(n_images, image_size, seed=0)
    est = clone(extractor).set_params(cache=None)
    est.fit()
    F = est.transform(images)
    name = type(extractor).__name__
    assert isinstance(F, np.ndarray), f"{name}.transform must return an ndarray"
    assert F.dtype == np.float32, f"{name} output must be float32, got {F.dtype}"
    assert F.ndim == 2 and F.shape[0] == n_images, (
        f"{name} output must be (n_images, n_features), got {F.shape}"
    )
    if expected_width is not None:
        assert F.shape[1] == expected_width, (
            f"{name} output width {F.shape[1]} != expected {expected_width}"
        )
    assert np.isfinite(F).all(), f"{name} output holds NaN or inf"
    assert est.n_features_out_ == F.shape[1], "n_features_out_ != output width"
    assert len(est.get_feature_names_out()) == F.shape[1], "feature names != width"

    np.testing.assert_array_equal(
        est.transform(images), F, err_msg=f"{name} is not deterministic"
    )
    outputs = est.transform_outputs(images, [est.output_])
    assert list(outputs) == [est.output_], "transform_outputs keys != outputs asked"
    np.testing.assert_array_equal(
        outputs[est.output_],
        F,
        err_msg=f"{name}: transform_outputs differs from transform for output_",
    )
    one_by_one = clone(est).set_params(batch_size=1).fit().transform(images)
    np.testing.assert_allclose(
        one_by_one, F, rtol=1e-4, atol=atol, err_msg=f"{name} depends on batch size"
    )
    np.testing.assert_allclose(
        est.transform(list(images)),
        F,
        rtol=1e-4,
        atol=atol,
        err_msg=f"{name}: a list of arrays differs from the stacked array",
    )
    np.testing.assert_allclose(
        est.transform(images[::-1])[::-1],
        F,
        rtol=1e-4,
        atol=atol,
        err_msg=f"{name} output depends on the order of the images",
    )
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(
        restored.transform(images),
        F,
        rtol=1e-4,
        atol=atol,
        err_msg=f"{name} changes after pickling",
    )
