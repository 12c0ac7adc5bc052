"""Readers of feature, label and labelled-image files (what the CLI takes)."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from skdisco.datasets import load_features, load_images, load_labels


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    F = rng.normal(size=(12, 3))
    np.save(tmp_path / "F.npy", F)
    pd.DataFrame(F, columns=["a", "b", "c"]).to_csv(tmp_path / "F.csv", index=False)
    return tmp_path, F


def test_load_features_npy_and_csv_same_values(table):
    d, F = table
    np.testing.assert_array_equal(load_features(d / "F.npy"), F)
    from_csv = load_features(str(d / "F.csv"))
    assert from_csv.dtype == np.float64 and from_csv.shape == (12, 3)
    np.testing.assert_allclose(from_csv, F, rtol=1e-15)


def test_load_features_parquet_needs_a_parquet_engine(table):
    d, F = table
    path = d / "F.parquet"
    try:
        pd.DataFrame(F, columns=["a", "b", "c"]).to_parquet(path)
    except ImportError:
        path.write_bytes(b"PAR1")
        with pytest.raises(ValueError, match="pip install pyarrow"):
            load_features(path)
        return
    np.testing.assert_allclose(load_features(path), F, rtol=1e-15)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("missing.npy", None, "features file '.*missing.npy' does not exist"),
        ("F.txt", "1 2 3", "unknown format '.txt'; use .npy, .csv or .parquet"),
        ("broken.npy", "not an array", "Cannot read features file"),
        ("words.csv", "a,b\nx,y\n", "holds values that are not numbers"),
    ],
)
def test_load_features_bad_file_raises_value_error(tmp_path, name, content, message):
    if content is not None:
        (tmp_path / name).write_text(content)
    with pytest.raises(ValueError, match=message):
        load_features(tmp_path / name)


def test_load_features_one_dimensional_array_raises(tmp_path):
    np.save(tmp_path / "v.npy", np.arange(5.0))
    with pytest.raises(ValueError, match=r"2-D table .* got shape \(5,\)"):
        load_features(tmp_path / "v.npy")


def test_load_labels_takes_the_label_column_else_the_only_one(tmp_path):
    y = np.array(["cat", "dog", "cat"])
    pd.DataFrame({"id": [7, 8, 9], "target": [1, 2, 3], "label": y}).to_csv(
        tmp_path / "named.csv", index=False
    )
    pd.DataFrame({"species": y}).to_csv(tmp_path / "single.csv", index=False)
    pd.DataFrame({"u": [1, 2, 3], "v": [4, 5, 6]}).to_csv(
        tmp_path / "multi.csv", index=False
    )
    np.save(tmp_path / "y.npy", y)
    assert load_labels(tmp_path / "named.csv").tolist() == y.tolist()
    assert load_labels(tmp_path / "single.csv").tolist() == y.tolist()
    np.testing.assert_array_equal(
        load_labels(tmp_path / "multi.csv"), [[1, 4], [2, 5], [3, 6]]
    )
    np.testing.assert_array_equal(load_labels(tmp_path / "y.npy"), y)


def test_load_labels_missing_file_names_labels(tmp_path):
    with pytest.raises(ValueError, match="labels file '.*nope.csv' does not exist"):
        load_labels(tmp_path / "nope.csv")


def _folder(root):
    for label in ("a", "b"):
        (root / label).mkdir(parents=True)
        for i in range(2):
            image = np.full((6, 6, 3), 40 * i, np.uint8)
            Image.fromarray(image).save(root / label / f"{i}.png")


def test_load_images_folder_npz_and_csv(tmp_path):
    _folder(tmp_path / "imgs")
    paths, y = load_images(tmp_path / "imgs")
    assert y.tolist() == ["a", "a", "b", "b"]
    assert paths == [
        str(tmp_path / "imgs" / c / f"{i}.png") for c in "ab" for i in (0, 1)
    ]

    images = np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)
    np.savez(tmp_path / "d.npz", X=images, y=[3, 5])
    got, labels = load_images(tmp_path / "d.npz")
    np.testing.assert_array_equal(got, images)
    assert labels.tolist() == [3, 5]

    absolute = str(tmp_path / "imgs" / "b" / "1.png")
    pd.DataFrame({"path": ["imgs/a/0.png", absolute], "label": ["x", "y"]}).to_csv(
        tmp_path / "list.csv", index=False
    )
    paths, labels = load_images(tmp_path / "list.csv")
    assert paths == [str(tmp_path / "imgs" / "a" / "0.png"), absolute]
    assert labels.tolist() == ["x", "y"]


@pytest.mark.parametrize(
    "name, make, message",
    [
        ("none", None, "is neither a folder nor a file"),
        ("d.txt", lambda p: p.write_text("x"), "use a folder of class sub-folders"),
        (
            "bad.npz",
            lambda p: np.savez(p, pixels=np.zeros(3)),
            r"must hold arrays 'images' \(or 'X'\) .* it holds \['pixels'\]",
        ),
        ("junk.npz", lambda p: p.write_bytes(b"junk"), "Cannot read"),
        (
            "cols.csv",
            lambda p: p.write_text("file,label\na.png,0\n"),
            "must have columns 'path' and 'label'",
        ),
        ("empty", lambda p: p.mkdir(), "No image files"),
    ],
)
def test_load_images_bad_input_raises_value_error(tmp_path, name, make, message):
    path = tmp_path / name
    if make is not None:
        make(path)
    with pytest.raises(ValueError, match=message):
        load_images(path)
