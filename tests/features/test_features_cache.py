import os

import numpy as np
import pytest

from skdisco.features import FeatureCache, TimmFeatureExtractor, default_cache_dir


def _extractor(cache, **kwargs):
    kwargs = {"pretrained": False, "image_size": 32, "random_state": 0, **kwargs}
    return TimmFeatureExtractor("test_resnet", cache=cache, **kwargs)


def _count_forwards(ext, monkeypatch):
    calls = []
    original = type(ext)._forward_outputs

    def counting(self, model, x, outputs):
        calls.append(len(x))
        return original(self, model, x, outputs)

    monkeypatch.setattr(type(ext), "_forward_outputs", counting)
    return calls


def _entries(directory):
    return sorted(p for p in os.listdir(directory) if p.endswith(".npz"))


def test_repeated_transform_comes_from_cache_without_forward(
    tmp_path, images, monkeypatch
):
    ext = _extractor(tmp_path).fit()
    calls = _count_forwards(ext, monkeypatch)
    first = ext.transform(images)
    assert sum(calls) == len(images)
    second = ext.transform(images)
    assert sum(calls) == len(images)  # no forward pass on the hit
    np.testing.assert_array_equal(first, second)
    # a fresh extractor (new process, same seed) hits the same entry
    third = _extractor(tmp_path).fit().transform(images)
    assert sum(calls) == len(images)
    np.testing.assert_array_equal(first, third)
    assert len(_entries(tmp_path)) == 1
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tmp")]


@pytest.mark.parametrize(
    "change",
    [
        {"random_state": 1},  # other weights
        {"output": "logits"},
        {"layer": 1},
        {"image_size": 36},  # other preprocessing
        {"precision": "bfloat16"},
    ],
)
def test_cache_key_changes_with_model_output_and_preprocessing(
    tmp_path, images, change
):
    base = _extractor(tmp_path).fit()
    F = base.transform(images)
    other = _extractor(tmp_path, **change).fit()
    G = other.transform(images)
    assert len(_entries(tmp_path)) == 2
    assert F.shape != G.shape or not np.array_equal(F, G)


def test_cache_key_changes_with_data(tmp_path, images, monkeypatch):
    ext = _extractor(tmp_path).fit()
    ext.transform(images)
    changed = images.copy()
    changed[0, 0, 0, 0] ^= 1
    calls = _count_forwards(ext, monkeypatch)
    ext.transform(changed)
    assert sum(calls) == len(images)


def test_cache_key_changes_when_image_file_is_rewritten(tmp_path, images, monkeypatch):
    from PIL import Image

    path = tmp_path / "a.png"
    Image.fromarray(images[0]).save(path)
    ext = _extractor(tmp_path / "cache").fit()
    before = ext.transform([str(path)])
    Image.fromarray(images[1]).save(path)
    os.utime(path, ns=(0, os.stat(path).st_mtime_ns + 10**9))
    after = ext.transform([str(path)])
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(after, ext.transform(images[1:2]))


def test_cache_hits_for_the_same_image_files_in_another_folder(
    tmp_path, images, monkeypatch
):
    from PIL import Image

    paths = {}
    for folder in ("here", "there"):
        (tmp_path / folder).mkdir()
        paths[folder] = []
        for i, image in enumerate(images):
            path = tmp_path / folder / f"{i}.png"
            Image.fromarray(image).save(path)
            paths[folder].append(str(path))
    ext = _extractor(tmp_path / "cache").fit()
    calls = _count_forwards(ext, monkeypatch)
    here = ext.transform(paths["here"])
    there = ext.transform(paths["there"])  # same content: keyed by it, not by path
    assert sum(calls) == len(images)
    np.testing.assert_array_equal(here, there)


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_corrupt_entry_is_recomputed_not_returned(
    tmp_path, images, monkeypatch, damage
):
    ext = _extractor(tmp_path).fit()
    expected = ext.transform(images)
    (entry,) = _entries(tmp_path)
    path = tmp_path / entry
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":  # same size, one feature byte changed
        raw = bytearray(data)
        raw[len(raw) // 3] ^= 0xFF
        path.write_bytes(bytes(raw))
    else:
        path.write_bytes(b"not a numpy file")
    calls = _count_forwards(ext, monkeypatch)
    got = ext.transform(images)
    assert sum(calls) == len(images)
    np.testing.assert_array_equal(got, expected)
    # the recomputed entry replaced the corrupt one and is served next time
    ext.transform(images)
    assert sum(calls) == len(images)


def test_feature_cache_rejects_wrong_number_of_rows(tmp_path):
    cache = FeatureCache(tmp_path)
    cache.put("k", np.ones((3, 2), np.float32))
    assert cache.path("k").exists()
    assert cache.get("k", n_samples=4) is None
    assert not cache.path("k").exists()


def test_cache_true_uses_environment_directory(tmp_path, images, monkeypatch):
    monkeypatch.setenv("SKDISCO_CACHE_DIR", str(tmp_path / "envcache"))
    assert default_cache_dir() == tmp_path / "envcache"
    _extractor(True).fit().transform(images)
    assert len(_entries(tmp_path / "envcache")) == 1


def test_no_cache_writes_nothing(tmp_path, images, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SKDISCO_CACHE_DIR", str(tmp_path / "envcache"))
    _extractor(None).fit().transform(images)
    assert not (tmp_path / "envcache").exists()
