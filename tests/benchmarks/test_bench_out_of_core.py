"""bench_out_of_core.py: its numbers are the scores', its table the page's."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "bench_out_of_core.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_out_of_core", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_small_run_scores_the_memmap_and_writes_the_table(tmp_path, capsys):
    from skdisco.transferability import hscore, logme

    bench = _bench()
    out = tmp_path / "table.md"
    args = ["--n", "3000", "--d", "24", "--classes", "10", "--cache", str(tmp_path)]
    bench.main([*args, "--scorers", "logme,hscore", "--out", str(out)])
    rows = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("{")
    ]
    X_path, y_path = bench.data_paths(tmp_path, 3000, 24, 10)
    X, y = np.load(X_path), np.load(y_path)
    assert X.dtype == np.float32 and X.shape == (3000, 24)
    assert np.unique(y).size == 10
    by_name = {r["scorer"]: r for r in rows}
    assert by_name["logme"]["score"] == pytest.approx(logme(X, y), rel=1e-12)
    assert by_name["hscore"]["score"] == pytest.approx(hscore(X, y), rel=1e-12)
    assert all(r["seconds"] > 0 and r["traced_mib"] > 0 for r in rows)
    table = out.read_text()
    assert table.count("\n| logme | 1 |") == 1 and "| hscore | 2 |" in table
    # The table is rebuilt from the printed lines, identically.
    log = tmp_path / "run.log"
    log.write_text("\n".join(json.dumps(r) for r in rows))
    again = tmp_path / "again.md"
    bench.main([*args, "--table-from", str(log), "--out", str(again)])
    assert again.read_text() == table


def test_the_page_shows_rows_of_the_benchmark_table():
    page = (REPO / "docs" / "out_of_core.md").read_text()
    section = page.split("## Memory and time", 1)[1]
    rows = [line.strip() for line in section.splitlines() if line.startswith("|")]
    assert rows, "docs/out_of_core.md shows no benchmark table"
    written = (REPO / "benchmarks" / "results" / "out_of_core.md").read_text()
    stale = [row for row in rows if row not in written]
    assert stale == [], f"rows not in benchmarks/results/out_of_core.md: {stale[:3]}"


def test_mean_scale_scales_the_class_means_only(tmp_path):
    # The same seed draws the same labels, means and noise: two scales differ
    # by (1 - s) times the class means, the same vector for every row of a
    # class, and their files do not collide (1: the earlier tables' files).
    bench = _bench()
    a = bench.make_data(tmp_path, 600, 16, 3, mean_scale=1.0)
    b = bench.make_data(tmp_path, 600, 16, 3, mean_scale=0.1)
    assert a[0] != b[0] and a[0].name == "features_n600_d16_c3.npy"
    (Xa, ya), (Xb, yb) = [(np.load(x), np.load(y)) for x, y in (a, b)]
    np.testing.assert_array_equal(ya, yb)
    diff = Xa.astype(np.float64) - Xb
    for c in range(3):
        rows = diff[ya == c]
        np.testing.assert_allclose(rows, np.broadcast_to(rows[0], rows.shape),
                                   atol=1e-5)
    # ‖0.9 m_c‖² ≈ 0.81 · 16 per class, the noise's ‖x‖² ≈ 16 in both.
    assert 0.81 * 16 * 0.2 < float(np.mean(diff**2)) * 16 < 0.81 * 16 * 3
