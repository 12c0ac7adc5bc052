"""On-disk feature cache: atomic writes, verified reads.

An entry is one ``.npz`` file named after the SHA-256 of its key (model, weights
content hash, preprocessing, output and data fingerprint). It holds the features
and the SHA-256 of their bytes; a read recomputes that checksum, so a truncated or
altered entry is detected, removed and recomputed -- never returned. Writes go to
a temporary file in the cache folder that :func:`os.replace` moves into place, so a
reader sees either no entry or a whole one, even when two processes race.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

#: Bumped whenever the meaning of a cached entry changes.
CACHE_FORMAT = 1

_FILE_DIGESTS: dict = {}


def default_cache_dir():
    """``$SKDISCO_CACHE_DIR`` when set, else ``~/.cache/skdisco/features``.

    Returns
    -------
    directory : pathlib.Path
        The folder that ``cache=True`` of an extractor writes to.

    Examples
    --------
    >>> from pathlib import Path
    >>> from skdisco.features import default_cache_dir
    >>> isinstance(default_cache_dir(), Path)
    True
    """
    env = os.environ.get("SKDISCO_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "skdisco" / "features"


def resolve_cache_dir(cache):
    """The folder of the ``cache`` parameter, or None when caching is off."""
    if cache is None or cache is False:
        return None
    if cache is True:
        return default_cache_dir()
    return Path(cache).expanduser()


def file_digest(path):
    """SHA-256 of a file's content, memoised by (path, size, mtime)."""
    path = os.path.abspath(os.fspath(path))
    st = os.stat(path)
    memo_key = (path, st.st_size, st.st_mtime_ns)
    digest = _FILE_DIGESTS.get(memo_key)
    if digest is None:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        digest = h.hexdigest()
        _FILE_DIGESTS[memo_key] = digest
    return digest


def cache_key(parts):
    """A stable hex key of a JSON-serialisable dict."""
    text = json.dumps({"format": CACHE_FORMAT, **parts}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _checksum(features):
    return hashlib.sha256(memoryview(np.ascontiguousarray(features)).cast("B"))


class FeatureCache:
    """Features stored on disk under a folder, one verified file per key.

    Parameters
    ----------
    directory : str or path-like
        Folder of the entries (created on the first write).

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
        self.directory = Path(directory)

    def path(self, key):
        """File of the entry ``key``.

        Parameters
        ----------
        key : str
            Key of the entry.

        Returns
        -------
        path : pathlib.Path
            Where the entry is (or would be) stored.
        """
        return self.directory / f"{key}.npz"

    def get(self, key, *, n_samples):
        """The cached features of ``key``, or None when absent or corrupt.

        A corrupt entry (unreadable file, wrong shape, checksum mismatch) is
        deleted so that the next write replaces it.

        Parameters
        ----------
        key : str
            Key of the entry.
        n_samples : int
            Number of rows the features must have.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features) or None
            The float32 features, or None when there is no valid entry.
        """
        path = self.path(key)
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                features = data["features"]
                stored = str(data["sha256"])
            ok = (
                features.ndim == 2
                and features.shape[0] == n_samples
                and features.dtype == np.float32
                and _checksum(features).hexdigest() == stored
            )
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            ok = False
        if not ok:
            try:
                path.unlink()
            except OSError:
                pass
            return None
        return features

    def put(self, key, features):
        """Store ``features`` under ``key`` atomically.

        Parameters
        ----------
        key : str
            Key of the entry.
        features : array-like of shape (n_samples, n_features)
            Features to store, as float32.
        """
        features = np.ascontiguousarray(features, dtype=np.float32)
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(
                    f,
                    features=features,
                    sha256=np.asarray(_checksum(features).hexdigest()),
                )
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path(key))
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
