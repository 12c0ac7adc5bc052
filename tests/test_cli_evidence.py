"""``skdisco rank``'s evidence line: read from the shipped evidence, on stderr."""

import numpy as np
import pandas as pd
import pytest

import skdisco.selection
from skdisco.cli import evidence_line, main
from skdisco.datasets import load_score_evidence


def _evidence(ci=True, controls=True):
    nan = np.nan
    rows = [
        # knn_probe's overall mean is higher, but over classification targets
        # only; on the same targets logme is ahead
        ("knn_probe", "score", 0.79, 0.70, 0.86, 5, 4, "classification", 0.79, nan),
        ("logme", "score", 0.78, 0.71, 0.84, 6, 5, "classification+regression",
         0.81, 0.64),
        ("disco", "score", 0.60, 0.50, 0.70, 6, 2, "classification+regression",
         0.66, 0.31),
        ("mystery", "score", 0.99, 0.98, 1.00, 6, 6, "classification+regression",
         0.99, 0.99),  # not a scorer the command line knows
        ("n_params", "control", 0.21, 0.05, 0.37, 6, nan, "classification+regression",
         nan, nan),
        ("feature_dim", "control", 0.11, -0.02, 0.25, 6, nan,
         "classification+regression", nan, nan),
        ("ensemble", "ensemble", 0.95, 0.9, 0.99, 6, 6, "classification+regression",
         0.95, 0.95),
    ]
    scores = pd.DataFrame(rows, columns=[
        "scorer", "kind", "mean_tau_w", "ci_low", "ci_high", "n_targets",
        "targets_beating_best_control", "tasks", "mean_tau_w_classification",
        "mean_tau_w_regression"])
    if not ci:
        scores[["ci_low", "ci_high"]] = nan
    if not controls:
        scores = scores[scores["kind"] != "control"]
    targets = pd.DataFrame({
        "target": ["a", "b", "r"], "task": ["classification"] * 2 + ["regression"],
        "n_train": [1000] * 3, "n_classes": [10, 2, nan],
        "samples_per_class_min": [80, 500, nan],
        "samples_per_class_max": [110, 502, nan],
        "feature_width_min": [64] * 3, "feature_width_max": [1280] * 3,
    })
    return scores, targets


def test_evidence_line_compares_scorers_on_the_task_targets():
    y = np.repeat(np.arange(4), 100)
    line = evidence_line("classification", y, [64.0, 512.0], _evidence())
    assert line.startswith("evidence: for classification, 100 images per class, "
                           "features 64-512 wide: ")
    assert "(2 classification targets of 3, 80-502 images per class, features " \
           "64-1280 wide)" in line
    assert "the highest mean τ_w is LogME's, 0.81; over the 6 targets it scored " \
           "0.78 [0.71, 0.84]" in line
    assert "the best data-free control (n_params) 0.21 [0.05, 0.37]" in line
    assert "mystery" not in line and "ensemble" not in line
    assert "covers" not in line
    assert line.endswith("; see docs/choosing_a_score.md")


def test_evidence_line_regression_uses_the_regression_target():
    line = evidence_line("regression", np.linspace(0, 1, 30), [64.0], _evidence())
    assert "(1 regression target of 3, features 64-1280 wide)" in line
    assert "LogME's, 0.64" in line and "images per class" not in line


def test_evidence_line_says_when_the_data_is_outside_the_evidence():
    y = np.repeat([0, 1], [10, 12])
    line = evidence_line("classification", y, [2048.0, np.nan], _evidence())
    assert "10-12 images per class, features 2048 wide" in line
    assert "your data has fewer images per class and wider features than the " \
           "benchmark covers" in line


def test_evidence_line_without_intervals_or_controls_says_so():
    line = evidence_line("classification", np.repeat([0, 1], 100), [np.nan],
                         _evidence(ci=False, controls=False))
    assert "0.78 (no interval shipped)" in line
    assert "no data-free control shipped" in line
    assert "features" not in line.split(":")[1]  # no width of failed models


def test_evidence_line_none_without_a_score_for_the_task():
    scores, targets = _evidence()
    scores["mean_tau_w_regression"] = np.nan
    assert evidence_line("regression", np.linspace(0, 1, 9), [8.0],
                         (scores, targets)) is None


def test_shipped_evidence_gives_a_line():
    scores, targets = load_score_evidence()
    line = evidence_line("classification", np.repeat([0, 1], 300), [512.0])
    best = scores.loc[scores["mean_tau_w_classification"].idxmax()]
    assert f"{best['mean_tau_w_classification']:.2f}" in line
    assert int((targets["task"] == "classification").sum()) >= 1


@pytest.fixture
def image_set(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz",
             images=rng.integers(0, 256, (8, 16, 16, 3), dtype=np.uint8),
             labels=np.repeat([0, 1], 4))
    return tmp_path / "d.npz"


def _fake_rank(models, X, y, *, scorers, **kwargs):
    rows = [{"model": m, "logme": float(i), "logme_rank": i + 1,
             "n_features": 32 * (i + 1), "time_s": 0.0, "error": None}
            for i, m in enumerate(models)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("quiet", [False, True])
def test_rank_prints_the_evidence_line_on_stderr_unless_quiet(
    image_set, monkeypatch, capsys, quiet
):
    monkeypatch.setattr(skdisco.selection, "rank_models", _fake_rank)
    args = ["rank", "m1", "m2", "--data", str(image_set), "--scorer", "logme"]
    assert main(args + (["--quiet"] if quiet else [])) == 0
    captured = capsys.readouterr()
    assert "m1" in captured.out and "evidence:" not in captured.out
    lines = [line for line in captured.err.splitlines() if "evidence:" in line]
    if quiet:
        assert lines == []
    else:
        assert len(lines) == 1
        assert "for classification, 4 images per class, features 32-64 wide" \
            in lines[0]
