"""Turn whatever images a user has into a lazily decoded torch ``Dataset``.

Every supported input becomes an :class:`ImageDataset` whose items are decoded and
preprocessed one at a time, so a ``DataLoader`` streams batches and the images are
never all decoded at once. Each input also has a *fingerprint*, a digest (the
store's one hash scheme, :func:`skdisco.utils._store.digest`) that identifies the
data for the feature cache without decoding it.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ..utils._store import digest, files_digest

_CHANNELS = (1, 3, 4)


class ImageDataset(torch.utils.data.Dataset):
    """Images decoded and preprocessed one at a time.

    ``source`` is a sequence (array, list of paths or PIL images, a torch dataset);
    ``decode(item)`` turns one element into an RGB PIL image or a float ``(3, H,
    W)`` tensor in [0, 1], and ``transform`` turns that into the model input.
    """

    def __init__(self, source, decode, transform, fingerprint):
        self.source = source
        self.decode = decode
        self.transform = transform
        self.fingerprint = fingerprint

    def __len__(self):
        return len(self.source)

    def __getitem__(self, index):
        image = self.decode(self.source[index])
        return self.transform(image)


def as_image_dataset(X, transform, *, fingerprint=True):
    """Wrap the images ``X`` into an :class:`ImageDataset` applying ``transform``.

    Parameters
    ----------
    X : ndarray, tensor, list of PIL images or paths, pandas Series, or Dataset
        The images (see :class:`TimmFeatureExtractor` for the accepted forms).
    transform : callable
        Applied to each decoded image (a PIL image or a float (3, H, W) tensor).
    fingerprint : bool, default=True
        Compute the data fingerprint (only needed when a cache is used).

    Returns
    -------
    dataset : ImageDataset
    """
    if hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):
        X = X.to_numpy()  # a pandas Series (e.g. of paths)
    if isinstance(X, torch.utils.data.Dataset) and not isinstance(X, ImageDataset):
        return _dataset_input(X, transform, fingerprint)
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    if isinstance(X, (str, os.PathLike, Image.Image)):
        raise ValueError(
            "X must be a collection of images; got a single "
            f"{type(X).__name__}. Wrap it in a list."
        )
    if isinstance(X, np.ndarray) and X.dtype.kind in "biuf":
        return _array_input(X, transform, fingerprint)
    try:
        items = list(X)
    except TypeError:
        raise ValueError(
            "X must be an image array, a list of PIL images or file paths, or a "
            f"torch Dataset; got {type(X).__name__}."
        ) from None
    _check_not_empty(len(items))
    if all(isinstance(item, Image.Image) for item in items):
        fp = _pil_fingerprint(items) if fingerprint else None
        return ImageDataset(items, _pil_to_rgb, transform, fp)
    if all(isinstance(item, (str, os.PathLike)) for item in items):
        items = [os.fspath(item) for item in items]
        fp = _paths_fingerprint(items) if fingerprint else None
        return ImageDataset(items, read_image, transform, fp)
    if all(isinstance(item, np.ndarray) for item in items):
        shapes = {item.shape for item in items}
        if len(shapes) == 1:
            return _array_input(np.stack(items), transform, fingerprint)
        fp = _arrays_fingerprint(items) if fingerprint else None
        return ImageDataset(items, _decode_array_item, transform, fp)
    kinds = sorted({type(item).__name__ for item in items})
    raise ValueError(
        "X must hold only PIL images, only file paths or only image arrays; got "
        f"items of type {', '.join(kinds)}."
    )


def _check_not_empty(n):
    if n == 0:
        raise ValueError("X holds no image; pass at least one.")


def _array_input(X, transform, fingerprint):
    _check_not_empty(X.shape[0] if X.ndim else 0)
    if X.ndim not in (3, 4):
        raise ValueError(
            "An image array must have shape (n_images, height, width[, channels]) "
            f"or (n_images, channels, height, width); got shape {X.shape}."
        )
    if X.dtype == np.uint8:
        images = _channels_last(X)
        decode = _uint8_to_pil
    else:
        images = _channels_first(X)
        finite = np.isfinite(images)
        if not finite.all():
            raise ValueError("The image array holds NaN or infinite values.")
        lo, hi = float(images.min()), float(images.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(
                "A non-uint8 image array must hold intensities in [0, 1] "
                f"(channels first, as ToTensor gives); got values in [{lo:g}, "
                f"{hi:g}]. Divide by the maximum intensity (255 for 8-bit images) "
                "or pass a uint8 array."
            )
        decode = _float_to_tensor
    fp = _arrays_fingerprint([X]) if fingerprint else None
    return ImageDataset(images, decode, transform, fp)


def _channels_last(X):
    """uint8 images as (N, H, W, C) or (N, H, W)."""
    if X.ndim == 4 and X.shape[-1] not in _CHANNELS and X.shape[1] in _CHANNELS:
        X = np.moveaxis(X, 1, -1)
    if X.ndim == 4 and X.shape[-1] not in _CHANNELS:
        raise ValueError(
            f"Cannot find the channel axis of an image array of shape {X.shape}; "
            "uint8 images must be (n_images, height, width[, channels]) with 1, 3 "
            "or 4 channels."
        )
    return X


def _channels_first(X):
    """Float images as (N, C, H, W)."""
    if X.ndim == 3:
        return X[:, None]
    if X.shape[1] not in _CHANNELS and X.shape[-1] in _CHANNELS:
        X = np.moveaxis(X, -1, 1)
    if X.shape[1] not in _CHANNELS:
        raise ValueError(
            f"Cannot find the channel axis of an image array of shape {X.shape}; "
            "float images must be (n_images, channels, height, width) with 1, 3 "
            "or 4 channels."
        )
    return X


def _uint8_to_pil(image):
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    return _pil_to_rgb(Image.fromarray(np.ascontiguousarray(image)))


def _float_to_tensor(image):
    t = torch.as_tensor(np.ascontiguousarray(image), dtype=torch.float32)
    if t.shape[0] == 1:
        t = t.expand(3, -1, -1)
    elif t.shape[0] == 4:
        t = t[:3]
    return t.contiguous()


def _decode_array_item(image):
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return _uint8_to_pil(_channels_last(image[None])[0])
    return _float_to_tensor(_channels_first(image[None])[0])


def _pil_to_rgb(image):
    return image if image.mode == "RGB" else image.convert("RGB")


def read_image(path):
    """Decode one image file into an RGB PIL image; a ValueError names the file."""
    try:
        with Image.open(path) as image:
            image.load()
            return _pil_to_rgb(image)
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
        raise ValueError(f"Cannot read image file {path!r}: {exc}") from exc


def _decode_dataset_item(item):
    if isinstance(item, (tuple, list)):
        item = item[0]  # (image, label) pairs
    if isinstance(item, Image.Image):
        return _pil_to_rgb(item)
    if isinstance(item, (str, os.PathLike)):
        return read_image(os.fspath(item))
    if isinstance(item, torch.Tensor):
        item = item.detach().cpu().numpy()
    if isinstance(item, np.ndarray):
        return _decode_array_item(item)
    raise ValueError(
        "Dataset items must be images (PIL, array, tensor or path) or (image, "
        f"label) pairs; got {type(item).__name__}."
    )


def _dataset_input(dataset, transform, fingerprint):
    _check_not_empty(len(dataset))
    fp = None
    if fingerprint:
        # A Dataset is identified by its type, length and repr only: its items
        # are not read (that would decode the whole dataset).
        fp = digest("dataset", type(dataset).__qualname__, len(dataset), repr(dataset))
    return ImageDataset(dataset, _decode_dataset_item, transform, fp)


def _arrays_fingerprint(arrays):
    return digest("arrays", list(arrays))


def _pil_fingerprint(images):
    return digest("pil", [(im.mode, im.size, im.tobytes()) for im in images])


def _paths_fingerprint(paths):
    """The content of every file, in order (read once per process and version)."""
    return files_digest(paths, what="image file")
