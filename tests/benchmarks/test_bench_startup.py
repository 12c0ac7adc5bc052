"""The start-up benchmark's table and its guard on the number of runs (untimed)."""

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_startup.py"
_spec = importlib.util.spec_from_file_location("bench_startup", _PATH)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_table_ratios_to_the_baseline_and_flags_slow_targets():
    labels = [label for label, _, _ in bench.CASES]
    times = {("this", label): [1.0, 1.0, 1.0, 1.0, 1.0] for label in labels}
    times["this", bench.BASELINE] = [4.0, 5.0, 5.0, 6.0, 9.0]
    times["this", "import skdisco"] = [0.1, 0.2, 0.2, 0.3, 0.4]
    times["this", "python3 -m skdisco --help"] = [1.4, 1.6, 2.0, 2.0, 2.5]
    rows = {
        line.split("`")[1]: [c.strip() for c in line.split("|")[3:7]]
        for line in bench.table(times, [("this", None)]).splitlines()[2:]
    }
    assert rows[bench.BASELINE] == ["4.00", "5.00", "1.00", ""]
    assert rows["import skdisco"] == ["0.10", "0.20", "0.04", "yes"]
    assert rows["python3 -m skdisco --help"] == ["1.40", "2.00", "0.40", "**no**"]
    assert rows["import skdisco.features"][3] == ""  # no target for it


def test_main_refuses_fewer_than_five_runs(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--repeat", "3"])
    assert "at least 5" in capsys.readouterr().err
