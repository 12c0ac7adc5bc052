"""The torch runtime the feature extractors and the fine-tuners share.

Devices and mixed precision, an estimator's model on a device and its pickling
through the CPU, pooling a layer output to one vector per image, a PIL image as a
tensor, a progress display, a labelled view of an image dataset, and the input
adapters that turn whatever images a user has into a lazily decoded
:class:`ImageDataset` with a fingerprint for the feature cache: the helpers
:mod:`skdisco.features` and :mod:`skdisco.finetune` both run on, in one place.

This module imports torch, so nothing that ``import skdisco``,
:mod:`skdisco.utils`, :mod:`skdisco.scorers` or :mod:`skdisco.transferability`
imports may import it: torch loads when a model is first touched.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
import time

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ._store import digest, files_digest

# --------------------------------------------------------------------------
# devices
# --------------------------------------------------------------------------
#: torch has one default generator per process: a seeded random initialisation
#: holds this lock while it draws, so two threads building models at once
#: (joblib's threading backend, a Dask cluster of threads) do not interleave
#: their draws and each gets the weights its seed defines.
_RNG_LOCK = threading.RLock()


@contextlib.contextmanager
def seeded_torch(seed, devices=()):
    """Seed torch's default generator inside, one thread at a time; restore it after.

    Parameters
    ----------
    seed : int
        The seed (``torch.manual_seed``).
    devices : sequence of int, default=()
        CUDA devices whose generators are forked too.
    """
    with _RNG_LOCK, torch.random.fork_rng(devices=list(devices)):
        torch.manual_seed(seed)
        yield


def resolve_device(device):
    """``"auto"`` → CUDA when available, else CPU; an unavailable CUDA raises."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={str(device)!r} was requested but CUDA is not available on "
            "this machine; use device='auto' or device='cpu'."
        )
    return device


def resolve_precision(precision, device):
    """The autocast dtype: bfloat16 on CUDA for ``"auto"``, else None (float32)."""
    if precision == "auto":
        return torch.bfloat16 if device.type == "cuda" else None
    return torch.bfloat16 if precision == "bfloat16" else None


class TorchModelMixin:
    """An estimator whose fitted ``model_`` runs on ``device_``.

    ``_runtime_device`` resolves the ``device`` parameter now (it may have been
    changed with ``set_params`` since ``fit``) and moves the model there;
    pickling stores the model on the CPU (:func:`cpu_state`), so an estimator
    fitted on a GPU loads on a machine without one.
    """

    def _runtime_device(self):
        """The device to run on now; moves the model there if needed."""
        device = resolve_device(self.device)
        if device != self.device_:
            self.model_.to(device)
            self.device_ = device
        return device

    def __getstate__(self):
        return cpu_state(super().__getstate__())


def cpu_state(state):
    """A pickling state whose ``model_`` lives on the CPU and ``device_`` is CPU.

    A model on an accelerator is round-tripped through torch's serialiser with
    ``map_location="cpu"``: a CPU copy without a second copy on the GPU, so the
    pickle loads on a machine without one. The fitted estimator is not changed.
    """
    model = state.get("model_")
    if model is not None and on_accelerator(model):
        buffer = io.BytesIO()
        torch.save(model, buffer)
        buffer.seek(0)
        state["model_"] = torch.load(buffer, map_location="cpu", weights_only=False)
    if "device_" in state:
        state["device_"] = torch.device("cpu")
    return state


def on_accelerator(module):
    """Whether any parameter or buffer of ``module`` is off the CPU."""
    tensors = list(module.parameters()) + list(module.buffers())
    return any(t.device.type != "cpu" for t in tensors)


# --------------------------------------------------------------------------
# modules and tensors
# --------------------------------------------------------------------------
def has_conv2d(module):
    """Whether ``module`` holds a 2-D convolution (channels-last pays off)."""
    return any(isinstance(m, torch.nn.Conv2d) for m in module.modules())


def pool_tensor(t, pooling):
    """Pool a layer output to (N, D): spatial maps and tokens averaged or CLS."""
    if isinstance(t, (tuple, list)):
        t = t[0]
    if t.ndim == 2:
        return t
    if t.ndim == 4:
        if pooling == "cls":
            raise ValueError(
                "pooling='cls' needs token outputs (N, L, D); this layer gives "
                f"a spatial map of shape {tuple(t.shape)}. Use pooling='avg'."
            )
        return t.mean(dim=(2, 3))
    if t.ndim == 3:
        return t[:, 0] if pooling == "cls" else t.mean(dim=1)
    return t.flatten(1)


def to_tensor(image):
    """PIL image → float (3, H, W) tensor in [0, 1]; tensors pass through."""
    if isinstance(image, torch.Tensor):
        return image
    a = torch.from_numpy(np.array(image, dtype=np.uint8, copy=True))
    return a.permute(2, 0, 1).float().div_(255.0)


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------
class LabelledSubset(torch.utils.data.Dataset):
    """``(images[j], targets[j])`` for ``j`` in ``indices``: a training view."""

    def __init__(self, images, targets, indices):
        self.images, self.targets, self.indices = images, targets, indices

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, i):
        j = self.indices[i]
        return self.images[j], self.targets[j]


class Progress:
    """tqdm when installed, else a one-line counter on stderr."""

    def __init__(self, iterable, total, enabled, desc):
        self.iterable, self.total, self.enabled, self.desc = (
            iterable,
            total,
            enabled,
            desc,
        )

    def __iter__(self):
        if not self.enabled:
            yield from self.iterable
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            tqdm = None
        if tqdm is not None:
            with tqdm(total=self.total, desc=self.desc, unit="img") as bar:
                for batch in self.iterable:
                    yield batch
                    bar.update(len(batch))
            return
        done, start = 0, time.perf_counter()
        for batch in self.iterable:
            yield batch
            done += len(batch)
            rate = done / max(time.perf_counter() - start, 1e-9)
            sys.stderr.write(
                f"\r{self.desc}: {done}/{self.total} images ({rate:.1f} img/s)"
            )
            sys.stderr.flush()
        sys.stderr.write("\n")


# --------------------------------------------------------------------------
# image inputs as a lazily decoded Dataset
# --------------------------------------------------------------------------
# Every supported input becomes an ImageDataset whose items are decoded and
# preprocessed one at a time, so a DataLoader streams batches and the images are
# never all decoded at once. Each input also has a fingerprint, a digest (the
# store's one hash scheme) that identifies the data for the feature cache
# without decoding it.
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
