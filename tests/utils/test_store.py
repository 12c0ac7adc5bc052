"""The one store: hash scheme, verified entries, temp cleaning, unusable folders."""

import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.datasets import load_digits

from skdisco.features import FeatureCache, TimmFeatureExtractor
from skdisco.scorers import LogMEScorer
from skdisco.selection import rank_models
from skdisco.utils import CacheWarning, Store, _store
from skdisco.utils._store import (
    STALE_TEMP_AGE,
    canonical,
    digest,
    file_digest,
    files_digest,
)


def _images():
    return np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    X, y = X[:300] / 16.0, y[:300]
    return {"pixels": X, "noise": rng.normal(size=(300, 16))}, y


def _files(directory, suffix):
    return sorted(p for p in os.listdir(directory) if p.endswith(suffix))


def _cache_warnings(caught):
    return [w for w in caught if issubclass(w.category, CacheWarning)]


def _a_file(tmp_path):
    """A regular file: a "folder" under it cannot be created, even by root."""
    path = tmp_path / "a-regular-file"
    path.write_text("not a folder")
    return path


# --- the hash scheme -------------------------------------------------------------
def test_canonical_types_distinguish_equal_looking_values():
    values = [None, True, 1, 1.0, "1", b"1", [1], {"1": 1}, {1}, np.asarray([1])]
    texts = [canonical(v) for v in values]
    assert len(set(texts)) == len(values)
    assert canonical((1, 2)) == canonical([1, 2])  # both are sequences
    assert canonical({"b": 1, "a": 2}) == canonical({"a": 2, "b": 1})
    assert canonical(np.int64(3)) == canonical(3)
    assert canonical(float("nan")) == canonical(float("nan"))
    assert canonical(0.0) != canonical(-0.0)


def test_digest_of_array_streams_blocks_and_ignores_memory_layout(monkeypatch):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(50, 7))
    oracle = hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()
    assert f"#{oracle}" in canonical(a)
    monkeypatch.setattr(_store, "_BLOCK", 64)  # many blocks, rows split across them
    for view in (a, np.asfortranarray(a), a[::-1][::-1], a.T.copy().T):
        assert f"#{oracle}" in canonical(view)
    strided = a[:, ::2]
    expected = hashlib.sha256(np.ascontiguousarray(strided).tobytes()).hexdigest()
    assert f"#{expected}" in canonical(strided)
    assert digest(a) != digest(a.astype(np.float32))
    assert digest(a) != digest(a.reshape(7, 50))
    assert len(canonical(np.zeros((1000, 1000)))) < 100  # blobs are hashed


def test_digest_of_tensor_is_its_bytes_dtype_and_shape():
    t = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    oracle = hashlib.sha256(t.numpy().tobytes()).hexdigest()
    assert canonical(t).endswith(f"#{oracle}")
    assert digest(t) == digest(t.clone())
    assert digest(t) != digest(t.to(torch.bfloat16))
    assert digest(t) != digest(t.reshape(3, 2))
    assert digest(t.to(torch.bfloat16)) == digest(t.to(torch.bfloat16).clone())


def test_digest_of_module_follows_weights_and_layers():
    torch.manual_seed(0)
    a = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU())
    b = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.GELU())
    b.load_state_dict(a.state_dict())
    assert digest(a) != digest(b)  # same tensors, other layers
    c = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU())
    c.load_state_dict(a.state_dict())
    assert digest(a) == digest(c)
    with torch.no_grad():
        c[0].bias += 1
    assert digest(a) != digest(c)


def test_digest_of_estimator_is_its_class_and_parameters():
    assert digest(LogMEScorer()) == digest(LogMEScorer())
    assert digest(LogMEScorer()) != digest(LogMEScorer(tol=1e-2))


def test_digest_of_dask_array_is_its_graph_name_without_computing():
    da = pytest.importorskip("dask.array")
    x = np.arange(12.0).reshape(4, 3)
    a = da.from_array(x, chunks=2)
    calls = []
    a.compute = lambda *args, **kw: calls.append(1)
    assert canonical(a) == canonical(da.from_array(x.copy(), chunks=2))
    assert digest(a) != digest(da.from_array(x + 1, chunks=2))
    assert a.name in canonical(a)
    assert not calls


def test_file_digest_is_content_sha256_memoised_on_size_and_mtime(tmp_path):
    path = tmp_path / "w.bin"
    path.write_bytes(b"weights" * 1000)
    assert file_digest(path) == hashlib.sha256(b"weights" * 1000).hexdigest()
    moved = tmp_path / "moved.bin"
    shutil.copy2(path, moved)
    assert files_digest([path]) == files_digest([moved])  # content, not location
    path.write_bytes(b"WEIGHTS" * 1000)
    os.utime(path, ns=(0, os.stat(path).st_mtime_ns + 10**9))
    assert file_digest(path) == hashlib.sha256(b"WEIGHTS" * 1000).hexdigest()
    with pytest.raises(ValueError, match="Cannot read file.*missing"):
        file_digest(tmp_path / "missing")


# --- verified entries -----------------------------------------------------------
def test_feature_entry_copied_onto_another_key_is_a_miss_and_removed(tmp_path):
    cache = FeatureCache(tmp_path)
    mine = np.arange(6, dtype=np.float32).reshape(3, 2)
    cache.put({"model": "a"}, mine)
    shutil.copy(cache.path({"model": "a"}), cache.path({"model": "b"}))
    assert cache.get({"model": "b"}, n_samples=3) is None
    assert not cache.path({"model": "b"}).exists()
    np.testing.assert_array_equal(cache.get({"model": "a"}, n_samples=3), mine)


def test_row_entry_copied_onto_another_key_is_a_miss_and_removed(tmp_path):
    store = Store(tmp_path)
    store.put_row(("row", "a"), {"model": "a", "score": 1.0})
    shutil.copy(store.path("row", ("row", "a")), store.path("row", ("row", "b")))
    assert store.get_row(("row", "b")) is None
    assert not store.path("row", ("row", "b")).exists()
    assert store.get_row(("row", "a")) == {"model": "a", "score": 1.0}


def test_ranking_row_copied_onto_another_model_is_recomputed(tmp_path, digits):
    models, y = digits
    first = rank_models(models, y=y, scorers=["logme"], cache_dir=tmp_path)
    rows = {}
    for name in _files(tmp_path, ".json"):
        rows[json.loads((tmp_path / name).read_text())["row"]["model"]] = name
    shutil.copy(tmp_path / rows["pixels"], tmp_path / rows["noise"])
    again = rank_models(models, y=y, scorers=["logme"], cache_dir=tmp_path)
    assert again.set_index("model")["from_cache"].to_dict() == {
        "pixels": True,
        "noise": False,
    }
    np.testing.assert_array_equal(first["logme"], again["logme"])


class _FileScaledFeatures(TransformerMixin, BaseEstimator):
    """Features scaled by the number in a file: a model whose weights are a file."""

    def __init__(self, weights="w.txt"):
        self.weights = weights

    def fit(self, X=None, y=None):
        return self

    def transform(self, X):
        with open(self.weights) as f:
            return np.asarray(X, float) * float(f.read())


def test_ranking_row_follows_the_content_of_a_weights_file(tmp_path, digits):
    models, y = digits
    weights = tmp_path / "w.txt"
    weights.write_text("1")
    model = {"m": _FileScaledFeatures(str(weights))}
    kwargs = dict(y=y, scorers=["logme"], cache_dir=tmp_path / "rows")
    rank_models(model, models["pixels"], **kwargs)
    assert rank_models(model, models["pixels"], **kwargs)["from_cache"].all()
    weights.write_text("2")
    os.utime(weights, ns=(0, os.stat(weights).st_mtime_ns + 10**9))
    assert not rank_models(model, models["pixels"], **kwargs)["from_cache"].any()


def _zip_with_compression_method(data, method):
    """``data`` (a zip) with every member claiming compression ``method``."""
    raw = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        i = raw.find(signature)
        while i != -1:
            raw[i + offset : i + offset + 2] = struct.pack("<H", method)
            i = raw.find(signature, i + 4)
    return bytes(raw)


def test_zip_entry_numpy_cannot_decompress_is_a_miss_and_removed(tmp_path):
    cache = FeatureCache(tmp_path)
    features = np.ones((2, 3), np.float32)
    cache.put("k", features)
    path = cache.path("k")
    path.write_bytes(_zip_with_compression_method(path.read_bytes(), 9))
    with pytest.raises(NotImplementedError):  # what np.load does with such a file
        with np.load(path) as data:
            data["features"]
    assert cache.get("k", n_samples=2) is None
    assert not path.exists()
    cache.put("k", features)
    np.testing.assert_array_equal(cache.get("k", n_samples=2), features)


@pytest.mark.parametrize(
    "damage",
    [
        lambda e: {**e, "row": {**e["row"], "score": 2.0}},  # an edited value
        lambda e: {**e, "format": 1},  # an older format
        lambda e: e["row"],  # a bare row, as RowStore wrote them
        lambda e: [e],  # not an entry at all
    ],
)
def test_row_entry_edited_or_of_other_format_is_a_miss_and_removed(tmp_path, damage):
    store = Store(tmp_path)
    store.put_row("k", {"model": "a", "score": 1.0})
    path = store.path("row", "k")
    path.write_text(json.dumps(damage(json.loads(path.read_text()))))
    assert store.get_row("k") is None
    assert not path.exists()


def test_feature_entry_of_the_old_format_is_a_miss(tmp_path):
    cache = FeatureCache(tmp_path)
    features = np.ones((2, 3), np.float32)
    buffer = io.BytesIO()  # format 1: features and their checksum, no key
    sha = hashlib.sha256(features.tobytes()).hexdigest()
    np.savez(buffer, features=features, sha256=np.asarray(sha))
    cache.path("k").write_bytes(buffer.getvalue())
    assert cache.get("k", n_samples=2) is None
    assert not cache.path("k").exists()


def test_feature_entry_of_wrong_row_count_is_removed(tmp_path):
    cache = FeatureCache(tmp_path)
    cache.put("k", np.ones((3, 2), np.float32))
    assert _files(tmp_path, ".npz")
    assert cache.get("k", n_samples=4) is None
    assert not _files(tmp_path, ".npz")


def test_interrupted_writes_leave_no_entry_and_no_temp(tmp_path, monkeypatch):
    store = Store(tmp_path)

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        store.put_features("k", np.ones((2, 2)))
    with pytest.raises(KeyboardInterrupt):
        store.put_row("k", {"model": "a"})
    assert os.listdir(tmp_path) == []


def test_rows_and_features_share_one_folder(tmp_path):
    images = _images()
    y = np.array([0, 1, 0, 1])
    kwargs = dict(y=y, scorers=["logme"], image_size=32)
    kwargs.update(cache_dir=tmp_path, feature_cache=tmp_path)
    first = rank_models(["test_resnet=random"], images, **kwargs)
    assert len(_files(tmp_path, ".npz")) == 1
    assert len(_files(tmp_path, ".json")) == 1
    again = rank_models(["test_resnet=random"], images, **kwargs)
    assert again["from_cache"].tolist() == [True]
    fresh = rank_models(["test_resnet=random"], images, **{**kwargs, "resume": False})
    assert fresh["from_cache"].tolist() == [False]
    np.testing.assert_array_equal(first["logme"], fresh["logme"])


# --- temporary files of dead writers --------------------------------------------
def _dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_open_removes_temporary_files_of_dead_writers(tmp_path):
    host = _store._host()
    old = time.time() - STALE_TEMP_AGE - 60
    dead = tmp_path / f".tmp-{host}-{_dead_pid()}-0a1b2c3d.npz"
    alive = tmp_path / f".tmp-{host}-{os.getppid()}-0a1b2c3d.npz"
    elsewhere = tmp_path / ".tmp-otherhost-1-0a1b2c3d.json"
    elsewhere_old = tmp_path / ".tmp-otherhost-2-0a1b2c3d.json"
    legacy_old = tmp_path / ".tmp-k3j_x9q1.npz"  # tempfile.mkstemp's, format 1
    entry = tmp_path / ("0" * 64 + ".npz")
    for path in (dead, alive, elsewhere, elsewhere_old, legacy_old, entry):
        path.write_bytes(b"partial")
    for path in (elsewhere_old, legacy_old):
        os.utime(path, (old, old))
    FeatureCache(tmp_path)
    assert sorted(os.listdir(tmp_path)) == sorted(
        [alive.name, elsewhere.name, entry.name]
    )


def test_temporary_file_names_carry_host_and_pid(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append(os.path.basename(src))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    Store(tmp_path).put_row("k", {"model": "a"})
    (name,) = seen
    assert name.startswith(f".tmp-{_store._host()}-{os.getpid()}-")


# --- unusable folders ------------------------------------------------------------
def test_extractor_under_a_file_warns_once_and_computes(tmp_path):
    images = _images()
    ext = TimmFeatureExtractor(
        "test_resnet", pretrained=False, image_size=32, random_state=0
    ).fit()
    expected = ext.transform(images)
    ext.set_params(cache=_a_file(tmp_path) / "cache")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = ext.transform(images)
        second = ext.transform(images)
    np.testing.assert_array_equal(first, expected)
    np.testing.assert_array_equal(second, expected)
    (warning,) = _cache_warnings(caught)
    assert "a-regular-file" in str(warning.message)


def test_ranking_with_unusable_folders_warns_once_and_ranks(tmp_path, digits):
    models, y = digits
    expected = rank_models(models, y=y, scorers=["logme"])
    bad = _a_file(tmp_path) / "rows"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = rank_models(models, y=y, scorers=["logme"], cache_dir=bad)
        again = rank_models(models, y=y, scorers=["logme"], cache_dir=bad)
    assert len(_cache_warnings(caught)) == 1
    for ranking in (got, again):
        np.testing.assert_array_equal(ranking["logme"], expected["logme"])
        assert not ranking["from_cache"].any()


def test_read_only_folder_serves_entries_and_warns_once(tmp_path, monkeypatch):
    cache = FeatureCache(tmp_path)
    stored = np.ones((2, 2), np.float32)
    cache.put("old", stored)
    real_open = os.open

    def read_only(path, flags, *args, **kwargs):  # as a read-only mount answers
        if str(path).startswith(str(tmp_path)) and flags & os.O_CREAT:
            raise OSError(30, "Read-only file system", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cache = FeatureCache(tmp_path)
        cache.put("new", stored)
        again = Store(tmp_path)
    assert not again.writable
    assert len(_cache_warnings(caught)) == 1
    np.testing.assert_array_equal(cache.get("old", n_samples=2), stored)
    assert cache.get("new", n_samples=2) is None


def test_store_rejects_unknown_entry_kind(tmp_path):
    with pytest.raises(ValueError, match="kind='table' is not a kind"):
        Store(tmp_path).path("table", "k")
