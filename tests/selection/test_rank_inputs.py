"""rank_models keeps a bad model's problem in its row, whatever the input's shape."""

import numpy as np

from skdisco.selection import rank_models


def test_rank_models_one_dimensional_features_fail_their_row_only():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 20)
    good = rng.standard_normal((40, 3))
    table = rank_models(
        {"good": good, "flat": rng.standard_normal(40)}, y=y, scorers=["logme"]
    )
    rows = table.set_index("model")
    assert np.isfinite(rows.loc["good", "logme"])
    assert rows.loc["good", "error"] is None
    assert np.isnan(rows.loc["flat", "logme"])
    assert "1-D" in rows.loc["flat", "error"]
    assert "reshape(-1, 1)" in rows.loc["flat", "error"]
