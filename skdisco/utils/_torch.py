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
import warnings

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


# --------------------------------------------------------------------------
# row passes of a FeatureSource on a device (the scores' torch backend)
# --------------------------------------------------------------------------
# The scores' O(N·d²) and O(N·d) passes over the rows (Gram matrices, class
# sums, within-class scatter) run here, in torch, on the source's device; only
# the d × d and C × d statistics go back to the host, where _linalg's float64
# maths finishes the score. With float32 products (CUDA by default) each
# block's rows are first centred on a shift -- the first block's mean -- and
# scaled by a power of two, and every block's product is added to a float64
# total: the error is float32's relative to the *centred* rows, and it does not
# grow with N. Sums, shifts and totals are float64 throughout.
_TORCH_DTYPES = {"float64": torch.float64, "float32": torch.float32}
# Rows summed in float32 by one product before its float64 total.
_FLOAT32_ROWS = 4096
# Host element types copied to a device as they are (others become float64).
_TRANSFERABLE = {
    np.dtype(t)
    for t in (
        "float64",
        "float32",
        "float16",
        "int64",
        "int32",
        "int16",
        "int8",
        "uint8",
        "bool",
    )
}


@contextlib.contextmanager
def ieee_float32_matmul():
    """Full-precision float32 matrix products inside (TF32 off), restored after."""
    matmul = torch.backends.cuda.matmul
    if hasattr(matmul, "fp32_precision"):
        saved = matmul.fp32_precision
        matmul.fp32_precision = "ieee"
        try:
            yield
        finally:
            matmul.fp32_precision = saved
        return
    saved = matmul.allow_tf32  # pragma: no cover - torch before 2.9
    matmul.allow_tf32 = False  # pragma: no cover
    try:  # pragma: no cover
        yield
    finally:  # pragma: no cover
        matmul.allow_tf32 = saved


class _PinnedStaging:
    """Two pinned host buffers that host blocks pass through to a CUDA device.

    A block is copied into one buffer, sent with ``non_blocking=True``, and the
    buffer is reused only after the event recorded behind that copy: reading
    the next block from disk overlaps the transfer of the last one.
    """

    def __init__(self, device):
        self.device = device
        self.buffers = [None, None]
        self.events = [None, None]
        self.turn = 0

    def to_device(self, chunk):
        k = self.turn
        self.turn = 1 - k
        if self.events[k] is not None:
            self.events[k].synchronize()
        buf = self.buffers[k]
        dtype = torch.from_numpy(np.empty(0, dtype=chunk.dtype)).dtype
        if buf is None or buf.dtype != dtype or buf.numel() < chunk.size:
            buf = torch.empty(chunk.size, dtype=dtype, pin_memory=True)
            self.buffers[k] = buf
        staged = buf[: chunk.size].view(chunk.shape)
        np.copyto(staged.numpy(), chunk)
        out = staged.to(self.device, non_blocking=True)
        # Recorded behind the copy on the stream it was queued on.
        self.events[k] = torch.cuda.Event()
        self.events[k].record(torch.cuda.current_stream(self.device))
        return out


def device_row_blocks(source, chunk_bytes):
    """``(start, stop, float64 tensor on source.device)``: every row once.

    What :meth:`FeatureSource.device_blocks` yields; see there.
    """
    from ._source import _rows_per_chunk

    device = source.device
    source.passes += 1
    step = _rows_per_chunk(source.n_features, chunk_bytes)
    staging = _PinnedStaging(device) if device.type == "cuda" else None
    stop = 0
    for start, chunk in source._raw_chunks(keep_tensors=True):
        source._check_layout(chunk, start)
        for offset in range(0, chunk.shape[0], step):
            part = chunk[offset : offset + step]
            if isinstance(part, torch.Tensor):
                block = part.to(device=device, dtype=torch.float64)
            else:
                if part.dtype not in _TRANSFERABLE:
                    part = part.astype(np.float64)
                if staging is not None:  # copies any layout into pinned memory
                    block = staging.to_device(part)
                else:
                    part = np.ascontiguousarray(part)
                    with warnings.catch_warnings():
                        # A read-only memmap: its rows are only read.
                        warnings.filterwarnings("ignore", "The given NumPy array")
                        block = torch.from_numpy(part).to(device)
                block = block.to(torch.float64)
            _check_finite_block(source, block, start + offset)
            stop = start + offset + block.shape[0]
            yield start + offset, stop, block
    source._end_pass(stop)


def _check_finite_block(source, block, start):
    finite = torch.isfinite(block).all(dim=1)
    if not bool(finite.all()):
        source._raise_not_finite(start + int(torch.nonzero(~finite)[0, 0]))


def device_max_abs_of(source, rows):
    """``max |rows|`` of a tensor of rows, computed on the source's device."""
    rows = rows.to(device=source.device, dtype=torch.float64)
    _check_finite_block(source, rows, 0)
    return float(rows.abs().max()) if rows.numel() else 0.0


def _power_of_two_below(largest):
    """``2^-e`` with ``largest · 2^-e`` in ``[1, 2)`` (1.0 for zero)."""
    if not largest > 0:
        return 1.0
    return float(np.ldexp(1.0, -(int(np.frexp(largest)[1]) - 1)))


class _Products:
    """``Σ_blocks BᵀB`` (d × d, float64) in the source's pass precision.

    float64 passes multiply the float64 rows as given (the NumPy path's
    arithmetic). float32 passes first centre every block on a shift ``s``,
    the first block's mean (float64), so ``z = b - s``: they scale ``z`` by
    a power of two ``p`` fixed by the first block (exact: only exponents
    change), multiply at most ``_FLOAT32_ROWS`` rows at a time in float32
    with TF32 off, add each ``ZᵀZ / p²`` to a float64 total, and
    :meth:`result` recovers ``BᵀB = ZᵀZ + s(Σz)ᵀ + (Σz)sᵀ + N ssᵀ`` in
    float64. The error is then float32's relative to the rows centred on
    their own mean, whatever the caller subtracted from them first (zero
    for an uncentred Gram, the column mean, the class means).
    """

    def __init__(self, source, d):
        self.dtype = _TORCH_DTYPES[source.pass_dtype]
        device = source.device
        self.total = torch.zeros((d, d), dtype=torch.float64, device=device)
        self.scale = None
        #: float32 passes: the shift, and Σz and N of the shifted rows.
        self.shift = None
        self.sums = torch.zeros(d, dtype=torch.float64, device=device)
        self.n = 0

    def add(self, B):
        """Add ``BᵀB``; return the rows as multiplied (shifted for float32)."""
        if self.dtype == torch.float64:
            self.total.addmm_(B.T, B)
            return B
        if self.shift is None:
            self.shift = B.mean(dim=0) if B.shape[0] else torch.zeros_like(self.sums)
        Z = B - self.shift
        self.sums += Z.sum(dim=0)
        self.n += Z.shape[0]
        if self.scale is None:
            self.scale = _power_of_two_below(float(Z.abs().max()) if Z.numel() else 0)
        weight = 1.0 / (self.scale * self.scale)
        # float32 sums over at most _FLOAT32_ROWS rows, then float64 totals:
        # the error is bounded by the sub-block, whatever N and the block.
        for start in range(0, Z.shape[0], _FLOAT32_ROWS):
            Zs = (Z[start : start + _FLOAT32_ROWS] * self.scale).to(self.dtype)
            with ieee_float32_matmul():
                P = Zs.T @ Zs
            self.total.add_(P.to(torch.float64), alpha=weight)
        return Z

    def result(self):
        """The total, symmetric (its lower triangle mirrored), shift undone."""
        G = torch.tril(self.total)
        G = G + torch.tril(self.total, -1).T
        if self.shift is not None:
            s = self.shift
            G += torch.outer(s, self.sums) + torch.outer(self.sums, s)
            G += self.n * torch.outer(s, s)
        return G


def _to_host(t):
    return t.detach().to("cpu").numpy().astype(np.float64, copy=False)


def _cross_products(Z, Y_block, out_t):
    """Add ``(Zᵀ Y_block)ᵀ`` to ``out_t`` (K × d): a sparse ``Y`` by index_add.

    A one-hot ``Y`` makes these the class sums: N·d float64 additions, not
    an N·d·C product.
    """
    if hasattr(Y_block, "tocoo"):
        coo = Y_block.tocoo()
        rows = torch.as_tensor(coo.row, dtype=torch.long, device=Z.device)
        cols = torch.as_tensor(coo.col, dtype=torch.long, device=Z.device)
        vals = torch.as_tensor(coo.data, dtype=torch.float64, device=Z.device)
        out_t.index_add_(0, cols, Z[rows] * vals[:, None])
    else:
        Yb = torch.as_tensor(np.asarray(Y_block, dtype=np.float64), device=Z.device)
        out_t.addmm_(Yb.T, Z)


def _column_sums(Y):
    if hasattr(Y, "tocoo"):
        return np.asarray(Y.sum(axis=0), dtype=np.float64).ravel()
    return np.asarray(Y, dtype=np.float64).sum(axis=0)


def device_gram_statistics(source, Y=None, *, scale=1.0, chunk_bytes):
    """``(XᵀX, XᵀY)`` of ``scale · X`` from passes on the source's device.

    float32 passes centre every block on the first block's mean ``s`` and
    recover ``XᵀX = ZᵀZ + s(Σz)ᵀ + (Σz)sᵀ + N ssᵀ`` and ``XᵀY = ZᵀY + s 1ᵀY``
    in float64 (``z = x - s``; see :class:`_Products`); float64 passes use no
    shift (the NumPy path's arithmetic). Returns host float64 arrays
    ``(G, B)`` (``B`` None without ``Y``).
    """
    d = source.n_features
    products = _Products(source, d)
    B = None  # (XᵀY)ᵀ, K × d
    if Y is not None:
        B = torch.zeros((Y.shape[1], d), dtype=torch.float64, device=source.device)
    for start, stop, block in source.device_blocks(chunk_bytes):
        if scale != 1.0:
            block = block * scale
        Z = products.add(block)
        if B is not None:
            _cross_products(Z, Y[start:stop], B)
    G = products.result()
    if B is not None and products.shift is not None:
        colsum = torch.as_tensor(_column_sums(Y), device=source.device)
        B += torch.outer(colsum, products.shift)
    return _to_host(G), None if B is None else _to_host(B.T)


def device_centered_gram(source, mean, *, chunk_bytes):
    """``(X - mean)ᵀ(X - mean)`` (host float64) from passes on the device.

    Any ``mean``, zero included (an uncentred Gram): float32 passes shift the
    rows ``x - mean`` once more on their own first block's mean
    (:class:`_Products`), so their error does not grow with ``‖mean - x̄‖``.
    """
    products = _Products(source, source.n_features)
    mean = torch.as_tensor(np.asarray(mean, np.float64), device=source.device)
    for _, _, block in source.device_blocks(chunk_bytes):
        products.add(block - mean)
    return _to_host(products.result())


def device_column_sums(source, *, chunk_bytes):
    """``Σ_n x_n`` (host float64) from a float64 pass on the device."""
    total = torch.zeros(source.n_features, dtype=torch.float64, device=source.device)
    for _, _, block in source.device_blocks(chunk_bytes):
        total += block.sum(dim=0)
    return _to_host(total)


def device_class_sums(source, y, n_classes, *, chunk_bytes):
    """Per-class sums of the rows (host float64, C × d): float64 ``index_add``."""
    device = source.device
    sums = torch.zeros(
        (n_classes, source.n_features), dtype=torch.float64, device=device
    )
    for start, stop, block in source.device_blocks(chunk_bytes):
        labels = torch.as_tensor(y[start:stop], dtype=torch.long, device=device)
        sums.index_add_(0, labels, block)
    return _to_host(sums)


def device_within_scatter(source, y, means, *, chunk_bytes):
    """``Σ_n (x_n - μ_{y_n})(x_n - μ_{y_n})ᵀ`` (host float64) on the device."""
    device = source.device
    products = _Products(source, source.n_features)
    means = torch.as_tensor(np.asarray(means, np.float64), device=device)
    for start, stop, block in source.device_blocks(chunk_bytes):
        labels = torch.as_tensor(y[start:stop], dtype=torch.long, device=device)
        products.add(block - means[labels])
    return _to_host(products.result())


def device_max_abs(source, *, chunk_bytes):
    """``max |x|`` over every row, computed on the device."""
    largest = torch.zeros((), dtype=torch.float64, device=source.device)
    for _, _, block in source.device_blocks(chunk_bytes):
        largest = torch.maximum(largest, block.abs().max())
    return float(largest)


def device_row_sq_norms(source, mean, *, chunk_bytes):
    """``‖x_n - mean‖²`` of every row (a host float64 N-vector), on the device."""
    out = np.empty(source.n_samples, dtype=np.float64)
    mean = torch.as_tensor(np.asarray(mean, np.float64), device=source.device)
    for start, stop, block in source.device_blocks(chunk_bytes):
        Z = block - mean
        out[start:stop] = _to_host((Z * Z).sum(dim=1))
    return out


def device_sum_fourth_powers_of_norms(source, mean, *, chunk_bytes):
    """``Σ_n ‖x_n - mean‖⁴`` in float64 on the device."""
    total = torch.zeros((), dtype=torch.float64, device=source.device)
    mean = torch.as_tensor(np.asarray(mean, np.float64), device=source.device)
    for _, _, block in source.device_blocks(chunk_bytes):
        Z = block - mean
        r2 = (Z * Z).sum(dim=1)
        total += r2 @ r2
    return float(total)


def device_class_square_sums(source, y, means, *, center=None, basis=None, chunk_bytes):
    """``Σ_{n in c} (x_n - μ_c)²`` per class and feature (host float64, C × d).

    With ``center`` and ``basis``, of the projected rows ``(x - center) V``
    (``means`` then the class means of the projections; the projection's
    product in the pass precision, :class:`_ShiftedProduct`).
    """
    device = source.device
    means = torch.as_tensor(np.asarray(means, np.float64), device=device)
    if basis is not None:
        project = _ShiftedProduct(source, basis)
        center_t = torch.as_tensor(np.asarray(center, np.float64), device=device)
    sq = torch.zeros_like(means)
    for start, stop, block in source.device_blocks(chunk_bytes):
        labels = torch.as_tensor(y[start:stop], dtype=torch.long, device=device)
        if basis is not None:
            block = project(block - center_t)
        sq.index_add_(0, labels, (block - means[labels]) ** 2)
    return _to_host(sq)


def device_lda_predict_proba(source, coef, intercept, center, *, chunk_bytes):
    """Posterior ``softmax((x - c) coefᵀ + intercept)`` (host float64, N × K).

    :func:`device_lda_posterior_values` keeping every posterior.
    """
    return device_lda_posterior_values(
        source, None, coef, intercept, center, _all_posteriors, chunk_bytes=chunk_bytes
    )


def _all_posteriors(P, y_block):
    return P


class _ShiftedProduct:
    """``X W`` of device blocks in the source's pass precision.

    float64 passes multiply the rows as given. float32 passes centre the rows
    on the first block's mean ``s`` (float64) and multiply ``(x - s)`` in
    float32 with TF32 off, adding ``s W`` back in float64: the error is
    float32's relative to the centred rows, as for the Gram passes.
    """

    def __init__(self, source, W):
        self.dtype = _TORCH_DTYPES[source.pass_dtype]
        self.W = torch.as_tensor(np.asarray(W, np.float64), device=source.device)
        self.W_low = self.W.to(self.dtype).contiguous()
        self.shift = self.offset = None

    def __call__(self, rows):
        if self.dtype == torch.float64:
            return rows @ self.W
        if self.shift is None:
            self.shift = rows.mean(dim=0)
            self.offset = self.shift @ self.W
        with ieee_float32_matmul():
            P = ((rows - self.shift).to(self.dtype) @ self.W_low).to(torch.float64)
        return P + self.offset


def _true_class_prob_sums(L, labels, n_classes):
    """``[Σ_i softmax(L_g)_{i, y_i}]_g`` for G groups of C logits side by side."""
    L = L.view(L.shape[0], -1, n_classes)
    L = torch.exp(L - L.max(dim=2, keepdim=True).values)
    rows = torch.arange(L.shape[0], device=L.device)
    return (L[rows, :, labels] / L.sum(dim=2)).sum(dim=0)


def _between_classes(W, offsets, n_classes):
    """``W`` (d × G·C) and ``offsets`` (G·C) less each group's class average."""
    W = np.asarray(W, np.float64)
    groups = W.reshape(W.shape[0], -1, n_classes)
    W = (groups - groups.mean(axis=2, keepdims=True)).reshape(W.shape)
    o = np.asarray(offsets, np.float64).reshape(-1, n_classes)
    return W, (o - o.mean(axis=1, keepdims=True)).ravel()


def device_disco_posterior_sums(
    source,
    y,
    fold_of,
    *,
    n_classes,
    weights=None,
    offsets=None,
    consts,
    basis=None,
    center=None,
    groups=None,
    Bs=None,
    chunk_bytes,
):
    """DISCO's per-group sums of the true-class posterior, rows on the device.

    The torch counterpart of the posterior pass of
    :func:`skdisco.transferability._disco._classification_group_scores`:
    ``weights`` (one d × G·C matrix per fold: logits ``x W_k - offsets_k +
    consts_k``) or ``basis`` (coordinates ``(x - center) V``, then
    ``P_g B_kg + consts_k`` per group). Products in the pass precision
    (:class:`_ShiftedProduct`), softmaxes in float64. Returns host float64 (G,).
    """
    device = source.device
    if weights is not None:
        if source.pass_dtype != "float64":
            # float32 products: drop each group's average over its classes
            # first (a per-row constant of the group's logits, which its
            # softmax ignores), so W holds only what tells the classes apart
            # (features of mean 100: 3e-6 relative error of DISCO -> 4e-9).
            pairs = [
                _between_classes(W, o, n_classes) for W, o in zip(weights, offsets)
            ]
            weights, offsets = [p[0] for p in pairs], [p[1] for p in pairs]
        products = [_ShiftedProduct(source, W) for W in weights]
        adds = [
            torch.as_tensor(np.asarray(c, np.float64) - o, device=device)
            for c, o in zip(consts, offsets)
        ]
    else:
        centred_basis = _ShiftedProduct(source, basis)
        center_coords = torch.as_tensor(
            np.asarray(center, np.float64) @ basis, device=device
        )
        Bs_t = [[torch.as_tensor(B, device=device) for B in fold] for fold in Bs]
        consts_t = [torch.as_tensor(c, device=device) for c in consts]
    totals = None
    for start, stop, block in source.device_blocks(chunk_bytes):
        labels_all = torch.as_tensor(y[start:stop], dtype=torch.long, device=device)
        folds = fold_of[start:stop]
        if weights is None:
            P = centred_basis(block) - center_coords
        for k in np.unique(folds):
            sel = torch.as_tensor(np.flatnonzero(folds == k), device=device)
            labels = labels_all[sel]
            if weights is not None:
                L = products[k](block[sel]) + adds[k]
                part = _true_class_prob_sums(L, labels, n_classes)
            else:
                Pk = P[sel]
                part = torch.stack(
                    [
                        _true_class_prob_sums(
                            Pk[:, a:b] @ B
                            + consts_t[k][j * n_classes : (j + 1) * n_classes],
                            labels,
                            n_classes,
                        )[0]
                        for j, ((a, b), B) in enumerate(zip(groups, Bs_t[k]))
                    ]
                )
            totals = part if totals is None else totals + part
    return _to_host(totals)


def device_hard_example_keys(source, y, B, c, *, chunk_bytes):
    """Each row's ``[log Σ_{c'≠y} exp(L_c' - L_y), ‖x‖²]`` with ``L = x B + c``.

    The torch counterpart of DISCO's hard-example pass (host float64, N × 2):
    the logits' product in the pass precision (:class:`_ShiftedProduct`), the
    rest in float64.
    """
    device = source.device
    product = _ShiftedProduct(source, B)
    c_t = torch.as_tensor(np.asarray(c, np.float64), device=device)
    out = np.empty((source.n_samples, 2), dtype=np.float64)
    for start, stop, block in source.device_blocks(chunk_bytes):
        labels = torch.as_tensor(y[start:stop], dtype=torch.long, device=device)
        L = product(block) + c_t
        rows = torch.arange(L.shape[0], device=device)
        L = L - L[rows, labels][:, None]
        L[rows, labels] = -torch.inf
        top = L.max(dim=1).values
        odds = top + torch.log(torch.exp(L - top[:, None]).sum(dim=1))
        out[start:stop, 0] = _to_host(odds)
        out[start:stop, 1] = _to_host((block * block).sum(dim=1))
    return out


def device_cross(source, B, *, chunk_bytes):
    """``Xᵀ B`` (host float64, d × K) for a host N × K matrix ``B``, rows on the device.

    float64 products, as the cross products of :func:`device_gram_statistics`
    (``B`` has few columns: the targets).
    """
    out = torch.zeros(
        (B.shape[1], source.n_features), dtype=torch.float64, device=source.device
    )
    for start, stop, block in source.device_blocks(chunk_bytes):
        _cross_products(block, B[start:stop], out)
    return _to_host(out.T)


def device_weighted_class_sums(source, y, weights, n_classes, *, chunk_bytes):
    """``Σ_{i∈c} w_i x_i`` per class (host float64, C × d), rows on the device."""
    device = source.device
    sums = torch.zeros(
        (n_classes, source.n_features), dtype=torch.float64, device=device
    )
    for start, stop, block in source.device_blocks(chunk_bytes):
        labels = torch.as_tensor(y[start:stop], dtype=torch.long, device=device)
        w = torch.as_tensor(weights[start:stop], dtype=torch.float64, device=device)
        sums.index_add_(0, labels, block * w[:, None])
    return _to_host(sums)


def device_mixed_within_scatter(source, y, weights, outer, means, *, chunk_bytes):
    """``Σ_i r_i r_iᵀ`` of ``r_i = w_i x_i + (1 - w_i) o_{y_i} - μ_{y_i}`` (host).

    SFDA's confidence-mixed rows, formed on the device block by block; the
    product in the pass precision (:class:`_Products`).
    """
    device = source.device
    products = _Products(source, source.n_features)
    outer_t = torch.as_tensor(np.asarray(outer, np.float64), device=device)
    means_t = torch.as_tensor(np.asarray(means, np.float64), device=device)
    for start, stop, block in source.device_blocks(chunk_bytes):
        labels = torch.as_tensor(y[start:stop], dtype=torch.long, device=device)
        w = torch.as_tensor(weights[start:stop], dtype=torch.float64, device=device)
        w = w[:, None]
        products.add(w * block + (1.0 - w) * outer_t[labels] - means_t[labels])
    return _to_host(products.result())


def device_mixed_posterior_sum(
    source, y, weights, *, center, coef, outer_logits, intercept, chunk_bytes
):
    """SFDA's second stage: ``Σ_i softmax(w_i (x_i - c) Aᵀ + (1 - w_i) o_{y_i} Aᵀ
    + b)_{y_i}`` with the rows on the device; the product in the pass
    precision (:class:`_ShiftedProduct`), the softmax in float64."""
    device = source.device
    product = _ShiftedProduct(source, np.asarray(coef, np.float64).T)
    center_t = torch.as_tensor(np.asarray(center, np.float64), device=device)
    outer_t = torch.as_tensor(np.asarray(outer_logits, np.float64), device=device)
    intercept_t = torch.as_tensor(np.asarray(intercept, np.float64), device=device)
    total = torch.zeros((), dtype=torch.float64, device=device)
    for start, stop, block in source.device_blocks(chunk_bytes):
        labels = torch.as_tensor(y[start:stop], dtype=torch.long, device=device)
        w = torch.as_tensor(weights[start:stop], dtype=torch.float64, device=device)
        w = w[:, None]
        logits = w * product(block - center_t) + (1.0 - w) * outer_t[labels]
        P = torch.softmax(logits + intercept_t, dim=1)
        total += P[torch.arange(P.shape[0], device=device), labels].sum()
    return float(total)


def device_lda_posterior_values(
    source, y, coef, intercept, center, value, *, chunk_bytes
):
    """``value(softmax((x - c) Aᵀ + b), y)`` of every row (host float64).

    The torch counterpart of ``lda_posterior_values``: the logits of each
    block on the device (the product in the pass precision,
    :class:`_ShiftedProduct`), its posterior block (K columns, not the rows)
    on the host for ``value``.
    """
    device = source.device
    product = _ShiftedProduct(source, np.asarray(coef, np.float64).T)
    center_t = torch.as_tensor(np.asarray(center, np.float64), device=device)
    intercept_t = torch.as_tensor(np.asarray(intercept, np.float64), device=device)
    out = None
    for start, stop, block in source.device_blocks(chunk_bytes):
        logits = product(block - center_t) + intercept_t
        labels = None if y is None else y[start:stop]
        part = value(_to_host(torch.softmax(logits, dim=1)), labels)
        if out is None:
            out = np.empty((source.n_samples, *np.shape(part)[1:]), np.float64)
        out[start:stop] = part
    return out


def device_row_logsumexp(source, *, chunk_bytes):
    """``log Σ_j exp(x_ij)`` of every row (host float64 N-vector), on the device."""
    out = np.empty(source.n_samples, dtype=np.float64)
    for start, stop, block in source.device_blocks(chunk_bytes):
        out[start:stop] = _to_host(torch.logsumexp(block, dim=1))
    return out


def device_unit_row_gram(source, mean, *, chunk_bytes):
    """``(ZᵀZ, rows left zero)`` of ``z = (x - mean)/‖x - mean‖``, on the device.

    The rows are scaled in float64; the product in the pass precision
    (:class:`_Products`). Rows equal to ``mean`` stay zero and are counted.
    """
    products = _Products(source, source.n_features)
    mean_t = torch.as_tensor(np.asarray(mean, np.float64), device=source.device)
    n_zero = 0
    for _, _, block in source.device_blocks(chunk_bytes):
        Z = block - mean_t
        norms = torch.sqrt((Z * Z).sum(dim=1))
        zero = norms == 0
        n_zero += int(zero.sum())
        Z = Z / torch.where(zero, torch.ones_like(norms), norms)[:, None]
        products.add(Z)
    return _to_host(products.result()), n_zero


def device_scores_source(source, mean, V):
    """A host source of the scores ``(x - mean) V`` of a device source's rows.

    Each pass projects the rows block by block on their device (the product in
    the pass precision, :class:`_ShiftedProduct`) and hands only the k columns
    of scores to the host: NCTI's passes over its principal-component scores
    read k-wide blocks, never the rows.
    """
    from ._source import as_feature_source

    mean_t = torch.as_tensor(np.asarray(mean, np.float64), device=source.device)

    def chunks():
        project = _ShiftedProduct(source, V)
        for _, _, block in source.device_blocks(CHUNK_BYTES_SCORES):
            yield _to_host(project(block - mean_t))

    return as_feature_source(chunks, n_samples=source.n_samples, name=source.name)


#: Rows projected per block by :func:`device_scores_source` (float64 bytes).
CHUNK_BYTES_SCORES = 16 * 2**20
