"""One on-disk store for cached features and ranking rows, and its one hash scheme.

Hashing
    :func:`canonical` writes any key part -- numbers, strings, sequences,
    mappings, numpy arrays, torch tensors and modules, scikit-learn estimators,
    Dask arrays -- as a typed text (``i3``, ``s5:hello``, ``a<f4(2,3)#<sha256>``:
    blobs appear as the SHA-256 of their bytes, streamed in blocks). :func:`digest`
    is the SHA-256 of that text. Every fingerprint of the package comes from these
    two (feature-cache keys, data fingerprints, weights digests, ranking row keys,
    the data a scorer was fitted on); :func:`file_digest` is the SHA-256 of a
    file's content, memoised on (path, size, mtime).

Entries
    A :class:`Store` is one folder holding two kinds of entry: feature arrays
    (``<digest>.npz``, float32) and ranking rows (``<digest>.json``, JSON-safe
    dicts). The file name is the digest of the entry's full key; the file stores
    that key's canonical text and a checksum of its content, and a read checks
    both, so an entry copied onto another key's name, a truncated or altered
    file, or anything that cannot be decoded is a miss and is removed -- never
    someone else's data. Writes go to a temporary file named after the host and
    process that writes it, moved into place with :func:`os.replace`; opening a
    store removes the temporary files of writers that died. A folder that cannot
    be written gives one :class:`CacheWarning` and the work goes on without
    storing anything.

No torch here: tensors and modules are recognised by their methods, and this
module sits below ``features/`` and ``selection/``.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import pickle
import secrets
import socket
import sys
import time
import types
import warnings
from collections.abc import Mapping, Set
from pathlib import Path

import numpy as np

from ._warnings import user_stacklevel

#: Version of the entries' layout and key scheme; bumped when either changes, so
#: older entries are misses (their names and stored keys no longer match).
STORE_FORMAT = 2

#: A temporary file older than this (seconds) is a dead writer's, whoever wrote it.
STALE_TEMP_AGE = 24 * 3600

_BLOCK = 1 << 24  # bytes hashed per step: arrays and files are never copied whole
_TEMP_PREFIX = ".tmp-"
_SUFFIXES = {"features": ".npz", "row": ".json"}
_FILE_DIGESTS: dict = {}
_WARNED: set = set()


class CacheWarning(UserWarning):
    """A cache folder that cannot be used; the work continues without it.

    Raised once per folder and process, when a :class:`Store` (the feature
    cache of the extractors, the rows of :func:`~skdisco.selection.rank_models`)
    cannot create or write its folder. Nothing is stored there; the results are
    computed as without a cache. Silence it with ``warnings.filterwarnings
    ("ignore", category=CacheWarning)``.

    Examples
    --------
    >>> import tempfile, warnings, pathlib
    >>> from skdisco.utils import CacheWarning, Store
    >>> a_file = pathlib.Path(tempfile.mkdtemp()) / "a-file"
    >>> _ = a_file.write_text("not a folder")
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     store = Store(a_file / "cache")
    >>> [w.category.__name__ for w in caught], store.writable
    (['CacheWarning'], False)
    """


# --------------------------------------------------------------------------
# the hash scheme
# --------------------------------------------------------------------------
def canonical(obj):
    """The canonical, typed text of a key part; equal text means equal content.

    Every value is written with a type tag, so ``1``, ``1.0``, ``"1"`` and
    ``True`` differ; lists and tuples are both sequences; mappings and sets are
    sorted. Arrays, tensors, bytes and pickles appear as their dtype, shape and
    the SHA-256 of their bytes (hashed in blocks, whatever the memory layout), so
    the text stays short whatever the data. A scikit-learn estimator is its
    class and ``get_params(deep=False)``; a torch module its class, ``repr``
    (the layers) and ``state_dict``; a function or class its qualified name.

    A Dask array is only its graph name, shape and dtype -- nothing is computed.
    That is safe when the graph reads in-memory data or other Dask arrays (the
    name is then a hash of the inputs, so other values give another name), and
    unsafe when it reads files changed in place under the same name, or when
    the user gave the array a fixed ``name=``: such data needs its cache turned
    off. ``da.from_array(x, name=False)`` gets a random name, always a miss.

    Any other object is the SHA-256 of its pickle, else its type and ``repr``.
    A pickle may differ between processes (a set of strings), which makes a
    miss, never a wrong hit.

    Parameters
    ----------
    obj : object
        The key part.

    Returns
    -------
    text : str
        The canonical text.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.utils._store import canonical
    >>> canonical({"layer": 1, "name": "resnet"})
    '{s4:names6:resnets5:layeri1;}'
    >>> canonical(np.zeros(2, np.float32)) == canonical(np.zeros(2, np.float32))
    True
    """
    out = []
    _encode(obj, out.append)
    return "".join(out)


def digest(*parts):
    """SHA-256 (hex) of the canonical text of ``parts``: the one hash of the package.

    Parameters
    ----------
    *parts : object
        Anything :func:`canonical` encodes.

    Returns
    -------
    hexdigest : str
        64 hexadecimal characters.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.utils._store import digest
    >>> X = np.arange(6.0).reshape(2, 3)
    >>> digest(X) == digest(np.asfortranarray(X))  # values, not memory layout
    True
    >>> digest(X) == digest(X.astype(np.float32))
    False
    """
    return hashlib.sha256(canonical(parts).encode("utf-8")).hexdigest()


def file_digest(path, *, what="file"):
    """SHA-256 (hex) of a file's content, memoised by (path, size, mtime).

    Parameters
    ----------
    path : str or path-like
        The file.
    what : str, default="file"
        What the file is, for the error message ("image file").

    Returns
    -------
    hexdigest : str
        64 hexadecimal characters.

    Raises
    ------
    ValueError
        If the file cannot be read, naming it.
    """
    path = os.path.abspath(os.fspath(path))
    try:
        st = os.stat(path)
        memo_key = (path, st.st_size, st.st_mtime_ns)
        value = _FILE_DIGESTS.get(memo_key)
        if value is None:
            with open(path, "rb") as f:
                value = _blocks_sha256(iter(lambda: f.read(_BLOCK), b""))
            _FILE_DIGESTS[memo_key] = value
    except OSError as exc:
        raise ValueError(f"Cannot read {what} {path!r}: {exc}") from exc
    return value


def files_digest(paths, *, what="file"):
    """Digest of the contents of ``paths``, in order; where they are does not count.

    Each file is read through :func:`file_digest` (``what`` and the errors are
    its own).
    """
    return digest("files", [file_digest(p, what=what) for p in paths])


def _encode(obj, emit):
    if obj is None:
        emit("n")
    elif isinstance(obj, np.generic) and not isinstance(obj, np.void):
        value = obj.item()
        _encode(np.asarray(obj) if isinstance(value, np.generic) else value, emit)
    elif isinstance(obj, bool):
        emit("t" if obj else "f")
    elif isinstance(obj, int):
        emit(f"i{obj};")
    elif isinstance(obj, float):
        emit(f"d{obj.hex()};")
    elif isinstance(obj, complex):
        emit(f"c{obj.real.hex()},{obj.imag.hex()};")
    elif isinstance(obj, str):
        emit(f"s{len(obj)}:{obj}")
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        data = memoryview(obj).cast("B")
        emit(f"b{data.nbytes}#{_blocks_sha256([data])}")
    elif isinstance(obj, os.PathLike):
        emit("p")
        _encode(os.fspath(obj), emit)
    elif isinstance(obj, np.ndarray):
        _encode_array(obj, emit)
    elif is_dask(obj):
        emit("k")
        _encode((obj.name, tuple(obj.shape), str(getattr(obj, "dtype", ""))), emit)
    elif is_tensor(obj):
        _encode_tensor(obj, emit)
    elif isinstance(obj, Mapping):
        pairs = sorted(((canonical(k), v) for k, v in obj.items()), key=_first)
        emit("{")
        for key_text, value in pairs:
            emit(key_text)
            _encode(value, emit)
        emit("}")
    elif isinstance(obj, (list, tuple)):
        emit(f"[{len(obj)}:")
        for item in obj:
            _encode(item, emit)
        emit("]")
    elif isinstance(obj, Set):
        emit(f"<{len(obj)}:{''.join(sorted(canonical(item) for item in obj))}>")
    elif _is_module(obj):
        emit(f"m{_qualname(type(obj))}")
        _encode((repr(obj), obj.state_dict()), emit)
    elif callable(getattr(obj, "get_params", None)) and not isinstance(obj, type):
        emit(f"e{_qualname(type(obj))}")
        _encode(obj.get_params(deep=False), emit)
    elif isinstance(obj, type) or _is_function(obj):
        _encode_callable(obj, emit)
    else:
        _encode_other(obj, emit)


def _encode_array(a, emit):
    shape = ",".join(str(n) for n in a.shape)
    if a.dtype.hasobject:
        emit(f"O({shape})")
        _encode(a.tolist(), emit)
        return
    descr = np.lib.format.dtype_to_descr(a.dtype)
    emit(f"a{descr}({shape})#{_array_sha256(a)}")


def _first(pair):
    return pair[0]


def _array_sha256(a):
    """SHA-256 of the C-order bytes of ``a``, a block at a time."""
    if a.size == 0:
        return _blocks_sha256([])
    if a.flags.c_contiguous:
        flat = a.reshape(-1).view(np.uint8)
        blocks = (flat[i : i + _BLOCK] for i in range(0, flat.size, _BLOCK))
        return _blocks_sha256(blocks)
    if a.ndim == 0:  # pragma: no cover - a 0-d array is always contiguous
        return _blocks_sha256([np.ascontiguousarray(a).reshape(-1).view(np.uint8)])
    rows = max(1, _BLOCK // max(1, a[0].nbytes))
    blocks = (
        np.ascontiguousarray(a[i : i + rows]).reshape(-1).view(np.uint8)
        for i in range(0, a.shape[0], rows)
    )
    return _blocks_sha256(blocks)


def _blocks_sha256(blocks):
    h = hashlib.sha256()
    for block in blocks:
        h.update(block)
    return h.hexdigest()


def _encode_tensor(t, emit):
    # A tensor exists, so torch is loaded: take it from sys.modules, not an import.
    torch = sys.modules["torch"]
    t = t.detach().to("cpu").contiguous()
    shape = ",".join(str(n) for n in t.shape)
    flat = t.reshape(-1).view(torch.uint8).numpy()
    blocks = (flat[i : i + _BLOCK] for i in range(0, flat.size, _BLOCK))
    emit(f"T{t.dtype}({shape})#{_blocks_sha256(blocks)}")


def _encode_other(obj, emit):
    try:
        data = pickle.dumps(obj, protocol=4)
    except Exception:  # any object that will not pickle: its type and repr
        emit(f"o{_qualname(type(obj))};")
        _encode(repr(obj), emit)
        return
    emit(f"P{_qualname(type(obj))};{_blocks_sha256([data])}")


def _qualname(obj):
    return f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', obj)}"


def _is_function(obj):
    return inspect.isfunction(obj) or inspect.ismethod(obj) or inspect.isbuiltin(obj)


def _encode_callable(obj, emit):
    """A class or function by name; a bound method also by its instance."""
    if "<" in getattr(obj, "__qualname__", "<"):  # a lambda or a local function
        _encode_other(obj, emit)
        return
    emit(f"r{_qualname(obj)};")
    owner = getattr(obj, "__self__", None)
    if owner is not None and not isinstance(owner, types.ModuleType):
        _encode(owner, emit)


def is_dask(obj):
    """Whether ``obj`` is a Dask collection (an array, a dataframe), by its type."""
    return type(obj).__module__.startswith("dask") and hasattr(obj, "name")


def is_tensor(obj):
    """Whether ``obj`` is a torch tensor, without importing torch.

    Only a loaded torch can have made a tensor, so torch is read from
    ``sys.modules``; with torch not loaded nothing is a tensor.
    """
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.Tensor)


def _is_module(obj):
    return callable(getattr(obj, "state_dict", None)) and callable(
        getattr(obj, "named_modules", None)
    )


# --------------------------------------------------------------------------
# cache folders
# --------------------------------------------------------------------------
def default_cache_dir():
    """The folder of ``cache=True``: ``$SKDISCO_CACHE_DIR``, else the user cache.

    Returns
    -------
    directory : pathlib.Path
        ``$SKDISCO_CACHE_DIR`` when that variable is set, else
        ``~/.cache/skdisco/features``.

    Examples
    --------
    >>> from skdisco.features import default_cache_dir
    >>> default_cache_dir().is_absolute()
    True
    """
    env = os.environ.get("SKDISCO_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "skdisco" / "features"


def resolve_cache_dir(cache):
    """The folder of a ``cache`` parameter, or None when caching is off."""
    if cache is None or cache is False:
        return None
    if cache is True:
        return default_cache_dir()
    return Path(cache).expanduser()


# --------------------------------------------------------------------------
# the store
# --------------------------------------------------------------------------
class Store:
    """A folder of cache entries -- feature arrays and ranking rows -- verified on read.

    An entry is keyed by its full key (any value ``digest`` takes: a dict of
    the model, weights, preprocessing, output and data fingerprint; the parts of
    a ranking row). Its file is named after the digest of the key and stores the
    key's canonical text and a checksum of the content; a read returns the
    content only when both match and the file decodes, otherwise the file is
    removed and the read is a miss. Writes are atomic. Opening the store creates
    the folder and removes temporary files left by writers that died (on this
    host: their process is gone; on any host: older than
    ``STALE_TEMP_AGE``). A folder that cannot be written gives one
    :class:`CacheWarning` per process; the store then reads what it can and
    stores nothing.

    Parameters
    ----------
    directory : str or path-like
        Folder of the entries, created when missing.

    Attributes
    ----------
    directory : pathlib.Path
        The folder.
    writable : bool
        Whether entries can be written there.

    See Also
    --------
    skdisco.features.FeatureCache : The feature entries alone.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from skdisco.utils import Store
    >>> store = Store(tempfile.mkdtemp())
    >>> key = {"model": "resnet", "data": np.arange(3)}
    >>> store.put_features(key, np.ones((3, 2), np.float32))
    True
    >>> store.get_features(key, n_samples=3).shape
    (3, 2)
    >>> store.get_features({"model": "vit", "data": np.arange(3)}) is None
    True
    >>> store.put_row(("row", "resnet"), {"model": "resnet", "logme": 1.5})
    True
    >>> store.get_row(("row", "resnet"))
    {'logme': 1.5, 'model': 'resnet'}
    """

    def __init__(self, directory):
        self.directory = Path(directory).expanduser()
        self.writable = self._open()

    def path(self, kind, key):
        """File of the entry of ``kind`` under ``key``.

        Parameters
        ----------
        kind : {"features", "row"}
            The kind of entry.
        key : object
            The key parts.

        Returns
        -------
        path : pathlib.Path
            ``<directory>/<sha256 of the key text><.npz or .json>``.
        """
        return self._locate(kind, key)[1]

    def _locate(self, kind, key):
        """The canonical text of the entry's full key, and its file."""
        if kind not in _SUFFIXES:
            raise ValueError(
                f"kind={kind!r} is not a kind of store entry; use one of "
                f"{sorted(_SUFFIXES)}."
            )
        text = canonical(("skdisco-store", STORE_FORMAT, kind, key))
        name = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return text, self.directory / f"{name}{_SUFFIXES[kind]}"

    # --- features --------------------------------------------------------------
    def get_features(self, key, *, n_samples=None):
        """The float32 feature array stored under ``key``, or None.

        Parameters
        ----------
        key : object
            The key parts.
        n_samples : int, default=None
            The number of rows expected; an entry with another number is removed.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features) or None
            None when there is no valid entry.
        """

        def decode(path, text):
            with np.load(path, allow_pickle=False) as data:
                features = data["features"]
                ok = (
                    int(data["format"]) == STORE_FORMAT
                    and str(data["key"]) == text
                    and features.ndim == 2
                    and features.dtype == np.float32
                    and (n_samples is None or features.shape[0] == n_samples)
                    and str(data["sha256"]) == digest(features)
                )
            return features if ok else None

        return self._read("features", key, decode)

    def put_features(self, key, features):
        """Store ``features`` (as float32) under ``key``, atomically.

        Parameters
        ----------
        key : object
            The key parts.
        features : array-like of shape (n_samples, n_features)
            The features.

        Returns
        -------
        stored : bool
            False when the folder cannot be written (a :class:`CacheWarning`
            says why, once).
        """
        features = np.ascontiguousarray(features, dtype=np.float32)

        def write(f, text):
            np.savez(
                f,
                format=np.asarray(STORE_FORMAT),
                key=np.asarray(text),
                sha256=np.asarray(digest(features)),
                features=features,
            )

        return self._write("features", key, write)

    # --- rows ------------------------------------------------------------------
    def get_row(self, key):
        """The row (a dict) stored under ``key``, or None.

        Parameters
        ----------
        key : object
            The key parts.

        Returns
        -------
        row : dict or None
            None when there is no valid entry.
        """

        def decode(path, text):
            with open(path, encoding="utf-8") as f:
                entry = json.load(f)
            row = entry["row"]
            ok = (
                entry["format"] == STORE_FORMAT
                and entry["key"] == text
                and isinstance(row, dict)
                and entry["sha256"] == digest(_row_text(row))
            )
            return row if ok else None

        return self._read("row", key, decode)

    def put_row(self, key, row):
        """Store the JSON-safe dict ``row`` under ``key``, atomically.

        Parameters
        ----------
        key : object
            The key parts.
        row : dict
            Values JSON can write (NaN included).

        Returns
        -------
        stored : bool
            False when the folder cannot be written (a :class:`CacheWarning`
            says why, once).
        """
        row_text = _row_text(row)  # a row JSON cannot write raises here

        def write(f, text):
            entry = {
                "format": STORE_FORMAT,
                "key": text,
                "sha256": digest(row_text),
                "row": json.loads(row_text),
            }
            f.write(json.dumps(entry, allow_nan=True).encode("utf-8"))

        return self._write("row", key, write)

    # --- machinery -------------------------------------------------------------
    def _open(self):
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._warn(f"it cannot be created ({exc})")
            return False
        self._remove_stale_temps()
        probe = self._temp_path(".probe")
        try:
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            os.unlink(probe)
        except OSError as exc:
            self._warn(f"it cannot be written ({exc})")
            return False
        return True

    def _read(self, kind, key, decode):
        text, path = self._locate(kind, key)
        if not path.is_file():
            return None
        try:
            value = decode(path, text)
        except FileNotFoundError:  # removed by another process since is_file
            return None
        except Exception:
            # Deliberately broad: the file is untrusted bytes, and np.load / json
            # raise anything on them (NotImplementedError for a zip compression
            # method numpy cannot read, zlib.error, KeyError, UnicodeError, ...).
            # None of it means more than "not a valid entry", which is a miss.
            value = None
        if value is None:
            _remove(path)
        return value

    def _write(self, kind, key, write):
        if not self.writable:
            return False
        text, path = self._locate(kind, key)
        tmp = self._temp_path(path.suffix)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            with os.fdopen(fd, "wb") as f:
                write(f, text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            _remove(tmp)
            self._warn(f"an entry could not be written ({exc})")
            return False
        except BaseException:
            _remove(tmp)
            raise
        return True

    def _temp_path(self, suffix):
        token = secrets.token_hex(4)
        return self.directory / f"{_TEMP_PREFIX}{_host()}-{os.getpid()}-{token}{suffix}"

    def _remove_stale_temps(self):
        try:
            entries = list(os.scandir(self.directory))
        except OSError:
            return
        now = time.time()
        for entry in entries:
            if entry.name.startswith(_TEMP_PREFIX) and _is_stale(entry, now):
                _remove(entry.path)

    def _warn(self, reason):
        where = str(self.directory.absolute())
        if where in _WARNED:
            return
        _WARNED.add(where)
        warnings.warn(
            f"The cache folder {where!r} is not used: {reason}. The work goes on "
            "without storing anything there; point the cache at a writable "
            "folder to keep results.",
            CacheWarning,
            stacklevel=user_stacklevel(),
        )


def _row_text(row):
    return json.dumps(row, sort_keys=True, allow_nan=True)


def _host():
    name = socket.gethostname() or "host"
    return "".join(c if c.isalnum() or c == "." else "_" for c in name)


def _is_stale(entry, now):
    """Whether the temporary file ``entry`` belongs to a writer that is gone."""
    try:
        age = now - entry.stat(follow_symlinks=False).st_mtime
    except OSError:
        return False
    if age > STALE_TEMP_AGE:
        return True
    parts = entry.name[len(_TEMP_PREFIX) :].split("-")
    if len(parts) != 3 or parts[0] != _host() or not parts[1].isdigit():
        return False  # another host's, or an old-style name: only age tells
    return not _pid_alive(int(parts[1]))


def _pid_alive(pid):
    if pid == os.getpid():
        return True
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but is not ours (EPERM)
        return True
    return True


def _remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass


class FeatureCache:
    """Features cached on disk, as entries of a :class:`~skdisco.utils.Store`.

    Kept as the public name of the extractors' feature cache; every property of
    :class:`~skdisco.utils.Store` holds (full key stored and checked on read,
    unreadable entries removed, atomic writes, a warning for an unusable
    folder).

    Parameters
    ----------
    directory : str or path-like
        Folder of the entries, created when missing.

    Attributes
    ----------
    directory : pathlib.Path
        The folder.
    store : Store
        The store holding the entries.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from skdisco.features import FeatureCache
    >>> cache = FeatureCache(tempfile.mkdtemp())
    >>> cache.put("k", np.ones((2, 3), np.float32))
    >>> cache.get("k", n_samples=2).shape
    (2, 3)
    >>> cache.get("other", n_samples=2) is None
    True
    """

    def __init__(self, directory):
        self.store = Store(directory)
        self.directory = self.store.directory

    def path(self, key):
        """File of the entry ``key``.

        Parameters
        ----------
        key : object
            The key parts.

        Returns
        -------
        path : pathlib.Path
            The entry's file.
        """
        return self.store.path("features", key)

    def get(self, key, *, n_samples=None):
        """The cached features of ``key``, or None when absent or invalid.

        An invalid entry (unreadable, another key's, wrong shape, checksum
        mismatch) is deleted so that the next write replaces it.

        Parameters
        ----------
        key : object
            The key parts.
        n_samples : int, default=None
            The number of rows expected.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features) or None
            The features, float32.
        """
        return self.store.get_features(key, n_samples=n_samples)

    def put(self, key, features):
        """Store ``features`` under ``key`` atomically.

        Parameters
        ----------
        key : object
            The key parts.
        features : array-like of shape (n_samples, n_features)
            The features, stored as float32.
        """
        self.store.put_features(key, features)
