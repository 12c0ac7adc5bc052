"""The GPU benchmark: without CUDA it says so and exits 0; its code runs on the CPU."""

import importlib.util
from pathlib import Path

import torch

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_gpu.py"
_spec = importlib.util.spec_from_file_location("bench_gpu", _PATH)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_without_cuda_it_says_so_and_exits_zero(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "gpu.md"
    assert bench.main(["--out", str(out)]) == 0
    assert "found no CUDA device" in capsys.readouterr().out
    assert not out.exists()


def test_quick_cpu_run_writes_every_row(tmp_path, capsys):
    out = tmp_path / "gpu.md"
    assert bench.main(["--quick", "--device", "cpu", "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    rows = [line for line in lines if line.startswith("| ") and "---" not in line]
    runs = [[c.strip() for c in row.split("|")[1:-1]] for row in rows[1:]]
    assert [r[0] for r in runs].count("LogME score") == 3
    assert [r[0] for r in runs].count("Gram pass") == 3
    assert sum(r[0].startswith("extraction") for r in runs) == 2
    # Each baseline has ratio 1; every rate is rows (or images) over seconds.
    assert [r[5] for r in runs if "host NumPy" in r[1] or "bare" in r[1]] == [
        "1.00×"
    ] * 3
    for r in runs:
        count, seconds, rate = (float(r[i].replace(",", "")) for i in (2, 3, 4))
        # seconds has four significant digits, the rate is rounded to a unit
        assert abs(rate - count / seconds) <= 1e-3 * rate + 1
    assert "relative difference 0.0e+00" in lines[-1]  # float64 passes on CPU


def test_precision_rows_show_the_shift_beating_a_plain_float32_gram():
    ((n, d, c, offset, shifted, plain, score),) = bench.precision_rows(
        (3_000,), 16, 4, offsets=(100.0,)
    )
    assert (n, d, c, offset) == (3_000, 16, 4, 100.0)
    assert shifted < 1e-6 < plain  # cancellation of the offset in plain float32
    assert 0 < score < 1e-5


def test_every_streaming_score_has_a_precision_row_within_the_tolerance(capsys):
    assert bench.main(["--precision", "--quick"]) == 0
    out = capsys.readouterr().out
    rows = [r for r in out.splitlines() if r.startswith("| ") and "---" not in r]
    names = [name for name, _ in bench.streaming_scores()]
    first = {r.split("|")[1].strip(): r for r in rows}
    score_rows = {name: row for name, row in first.items() if name in names}
    assert list(score_rows) == names
    for row in score_rows.values():
        cells = [c.strip() for c in row.split("|")[1:-1]]
        # docs/gpu.md: within 1e-5 of the float64 value, on both kinds of rows
        assert float(cells[2]) < 1e-5 and float(cells[4]) < 1e-5
