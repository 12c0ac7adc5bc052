"""The torch runtime the feature extractors and the fine-tuners share.

Devices and mixed precision, an estimator's model on a device and its pickling
through the CPU, pooling a layer output to one vector per image, a PIL image as a
tensor, a progress display and a labelled view of an image dataset: the helpers
:mod:`skdisco.features` and :mod:`skdisco.finetune` both run on, in one place.

This module imports torch, so nothing that ``import skdisco``,
:mod:`skdisco.utils`, :mod:`skdisco.scorers` or :mod:`skdisco.transferability`
imports may import it: torch loads when a model is first touched.
"""

from __future__ import annotations

import io
import sys
import time

import numpy as np
import torch


# --------------------------------------------------------------------------
# devices
# --------------------------------------------------------------------------
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
