"""A CSV written by DataFrame.to_csv() keeps its row index out of the data."""

import numpy as np
import pandas as pd
import pytest

from skdisco.datasets import load_features, load_labels


def test_load_features_drops_to_csv_row_index(tmp_path):
    F = np.random.default_rng(0).normal(size=(7, 3))
    pd.DataFrame(F).to_csv(tmp_path / "F.csv")  # index=True: a headerless column
    with pytest.warns(UserWarning, match="row index"):
        got = load_features(tmp_path / "F.csv")
    np.testing.assert_allclose(got, F, rtol=1e-15)


def test_load_labels_drops_to_csv_row_index(tmp_path):
    y = np.array(["cat", "dog", "cat", "eel"])
    pd.Series(y).to_csv(tmp_path / "y.csv")  # columns: "", "0"
    with pytest.warns(UserWarning, match="row index"):
        got = load_labels(tmp_path / "y.csv")
    assert got.tolist() == y.tolist()


def test_load_features_refuses_unnamed_column_that_is_not_the_index(tmp_path):
    F = pd.DataFrame(np.ones((4, 2)), index=[3, 9, 1, 4])
    F.to_csv(tmp_path / "F.csv")
    with pytest.raises(ValueError, match="no header"):
        load_features(tmp_path / "F.csv")


def test_load_features_keeps_named_first_column(tmp_path):
    table = pd.DataFrame({"id": np.arange(4.0), "f": np.ones(4)})
    table.to_csv(tmp_path / "F.csv", index=False)
    np.testing.assert_array_equal(load_features(tmp_path / "F.csv"), table.to_numpy())
