"""Controls, bootstrap intervals, leave-one-target-out selection, rank aggregation.

Oracles: scipy's weightedtau / kendalltau on each replicate, hand-computed
selections, and the published hub's controls computed here from the shipped
numbers with scipy.
"""

import time

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from skdisco.datasets import load_finetune_benchmark, load_finetune_controls
from skdisco.selection import (
    compare_scorers,
    evaluate_ranking,
    leave_one_target_out,
    rank_aggregate,
    summarize_evaluation,
    weighted_kendall_tau,
)
from skdisco.selection._bootstrap import bootstrap_indices, replicate_taus


# --------------------------------------------------------------------------- #
# weighted τ on replicates with duplicated candidates
# --------------------------------------------------------------------------- #
def test_weighted_kendall_tau_duplicates_tie_in_both_orders():
    # a duplicated model adds a pair tied in both orders: sign 0 in the
    # numerator and in both norms; its copies take consecutive ranks.
    s = np.array([0.9, 0.5, 0.5, 0.1])
    t = np.array([80.0, 85.0, 85.0, 60.0])
    rank_st = np.array([0, 1, 2, 3])  # by (s, t): 0, then the two copies, then 3
    rank_ts = np.array([2, 0, 1, 3])  # by (t, s): the two copies, then 0, then 3

    def one(rank):
        w = 1.0 / (rank + 1.0)
        num = dx = dy = 0.0
        for i in range(4):
            for j in range(i + 1, 4):
                a, b = np.sign(s[i] - s[j]), np.sign(t[i] - t[j])
                num += (w[i] + w[j]) * a * b
                dx += (w[i] + w[j]) * (a != 0)
                dy += (w[i] + w[j]) * (b != 0)
        return num / np.sqrt(dx * dy)

    expected = (one(rank_st) + one(rank_ts)) / 2
    assert weighted_kendall_tau(s, t) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_replicate_taus_equal_scipy_on_every_replicate(seed):
    rng = np.random.default_rng(seed)
    n = 10
    truth = rng.integers(0, 5, n).astype(float)
    scores = rng.integers(0, 5, (3, n)).astype(float)
    scores[2, 4] = np.nan  # a model the third scorer failed on
    idx = bootstrap_indices(n, 100, seed)
    tau_w = replicate_taus(scores, truth, idx)
    tau_b = replicate_taus(scores, truth, idx, weighted=False)
    checked = 0
    for k in range(3):
        for r in range(100):
            s, t = scores[k][idx[r]], truth[idx[r]]
            keep = np.isfinite(s)
            s, t = s[keep], t[keep]
            if np.ptp(s) == 0 or np.ptp(t) == 0:
                assert np.isnan(tau_w[k, r])
                continue
            assert tau_w[k, r] == pytest.approx(
                stats.weightedtau(s, t).statistic, abs=1e-12
            )
            assert tau_b[k, r] == pytest.approx(
                stats.kendalltau(s, t).statistic, abs=1e-12
            )
            checked += 1
    assert checked > 200


def test_replicate_taus_is_fast_at_benchmark_size():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=40)
    scores = truth + rng.normal(size=(60, 40))
    idx = bootstrap_indices(40, 1000, 0)
    t0 = time.perf_counter()
    for _ in range(6):
        replicate_taus(scores, truth, idx)
    assert time.perf_counter() - t0 < 60.0  # ~4 s on one shared core


# --------------------------------------------------------------------------- #
# evaluate_ranking: controls and intervals
# --------------------------------------------------------------------------- #
def _one_target():
    truth = {"a": 90.0, "b": 85.0, "c": 80.0, "d": 70.0, "e": 60.0}
    ranking = pd.DataFrame(
        {
            "model": list("abcde"),
            "good": [5.0, 4.0, 3.0, 1.0, 2.0],
            "bad": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    controls = pd.DataFrame(
        {"n_params": [3.0, 1.0, 2.0, 5.0, 4.0], "width": [2.0, 3.0, 1.0, 4.0, 5.0]},
        index=list("abcde"),
    )
    return ranking, truth, controls


def test_evaluate_ranking_marks_controls_and_who_beats_them():
    ranking, truth, controls = _one_target()
    ev = evaluate_ranking(
        ranking, truth, scorers=["good", "bad"], controls=controls, k=1
    )
    assert ev["kind"].to_dict() == {
        "good": "score",
        "bad": "score",
        "n_params": "control",
        "width": "control",
    }
    for name in ("n_params", "width"):
        assert ev.loc[name, "weighted_kendall_tau"] == pytest.approx(
            stats.weightedtau(
                controls[name].to_numpy(), np.array(list(truth.values()))
            ).statistic
        )
    best = ev.loc[["n_params", "width"], "weighted_kendall_tau"].max()
    assert bool(ev.loc["good", "beats_best_control"]) == (
        ev.loc["good", "weighted_kendall_tau"] > best
    )
    assert bool(ev.loc["good", "beats_best_control"])
    assert not bool(ev.loc["bad", "beats_best_control"])
    assert ev.loc[["n_params", "width"], "beats_best_control"].isna().all()


def test_evaluate_ranking_controls_as_dict_and_name_clash():
    ranking, truth, _ = _one_target()
    ev = evaluate_ranking(
        ranking,
        truth,
        scorers="good",
        controls={"size": {"a": 1.0, "b": 2.0, "c": 3.0}},
    )
    assert ev.loc["size", "n_models"] == 3
    assert ev.loc["size", "weighted_kendall_tau"] == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="has the name of a scorer"):
        evaluate_ranking(
            ranking, truth, scorers="good", controls={"good": {"a": 1.0, "b": 2.0}}
        )


def test_evaluate_ranking_bootstrap_intervals_match_replicates():
    ranking, truth, _ = _one_target()
    ev = evaluate_ranking(
        ranking, truth, scorers=["good", "bad"], k=1, n_bootstrap=300, random_state=3
    )
    for measure in (
        "weighted_kendall_tau",
        "kendall_tau",
        "pearson",
        "top1_relative_accuracy",
    ):
        assert (ev[f"{measure}_low"] <= ev[measure] + 1e-12).all()
        assert (ev[f"{measure}_high"] >= ev[measure] - 1e-12).all()
    # a perfectly reversed ranking stays reversed on every replicate
    assert ev.loc["bad", "weighted_kendall_tau_low"] == pytest.approx(-1.0)
    assert ev.loc["bad", "weighted_kendall_tau_high"] == pytest.approx(-1.0)
    # the interval of "good" is the percentile interval of scipy's τ on the
    # replicates that evaluate_ranking draws
    again = evaluate_ranking(
        ranking, truth, scorers=["good", "bad"], k=1, n_bootstrap=300, random_state=3
    )
    pd.testing.assert_frame_equal(ev, again)
    assert ev.loc["good", "weighted_kendall_tau_low"] < 1.0
    without = evaluate_ranking(ranking, truth, scorers=["good", "bad"], k=1)
    assert "weighted_kendall_tau_low" not in without.columns
    assert without["kind"].eq("score").all()


# --------------------------------------------------------------------------- #
# several targets: summary, paired differences, LOTO rows
# --------------------------------------------------------------------------- #
def _long_tables(n_targets=3, n_models=15, seed=0):
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    for g in range(n_targets):
        acc = rng.uniform(0.5, 0.9, n_models)
        size = rng.uniform(1, 10, n_models)
        for m in range(n_models):
            truth.append({"target": f"t{g}", "model": f"m{m}", "accuracy": acc[m]})
            for name, value in [
                ("sharp", acc[m] + rng.normal(scale=0.01)),
                ("blurred", acc[m] + rng.normal(scale=0.2)),
                ("sharp_x2", 2 * acc[m]),  # same order as the truth
                ("exact", acc[m]),
                ("size", size[m]),
            ]:
                rows.append(
                    {
                        "target": f"t{g}",
                        "model": f"m{m}",
                        "scorer": name,
                        "score": value,
                    }
                )
    return pd.DataFrame(rows), pd.DataFrame(truth)


def test_summarize_evaluation_means_are_per_target_scipy_means():
    scores, truth = _long_tables()
    summary = summarize_evaluation(scores, truth, controls=["size"], n_bootstrap=200)
    for name in ("sharp", "blurred", "size"):
        taus = []
        for target, block in scores[scores["scorer"] == name].groupby("target"):
            t = truth[truth["target"] == target].set_index("model")["accuracy"]
            s = block.set_index("model")["score"].loc[t.index]
            taus.append(stats.weightedtau(s.to_numpy(), t.to_numpy()).statistic)
        assert summary.loc[name, "mean_tau_w"] == pytest.approx(np.mean(taus))
        assert summary.loc[name, "ci_low"] <= summary.loc[name, "mean_tau_w"]
        assert summary.loc[name, "ci_high"] >= summary.loc[name, "mean_tau_w"]
    assert summary.loc["exact", ["mean_tau_w", "ci_low", "ci_high"]].tolist() == (
        pytest.approx([1.0, 1.0, 1.0])
    )
    assert summary.loc["size", "kind"] == "control"
    assert summary.loc["sharp", "targets_beating_best_control"] == 3
    assert pd.isna(summary.loc["size", "targets_beating_best_control"])
    assert summary["n_targets"].eq(3).all()


def test_summarize_evaluation_controls_as_per_model_table():
    scores, truth = _long_tables()
    per_model = pd.DataFrame(
        {"model": [f"m{m}" for m in range(15)], "index_order": np.arange(15.0)}
    )
    summary = summarize_evaluation(
        scores[scores["scorer"] != "size"], truth, controls=per_model, n_bootstrap=50
    )
    assert summary.loc["index_order", "kind"] == "control"
    assert summary.loc["index_order", "n_targets"] == 3


def test_compare_scorers_is_paired():
    scores, truth = _long_tables()
    cmp = compare_scorers(
        scores,
        truth,
        pairs=[("sharp", "sharp_x2"), ("sharp", "blurred"), ("exact", "sharp_x2")],
        n_bootstrap=300,
    ).set_index(["scorer_a", "scorer_b"])
    # same order on every replicate: the difference is exactly 0, not called
    row = cmp.loc[("exact", "sharp_x2")]
    assert row[["mean_difference", "ci_low", "ci_high"]].tolist() == [0.0, 0.0, 0.0]
    assert not row["significant"]
    assert cmp.loc[("sharp", "blurred"), "significant"]
    assert cmp.loc[("sharp", "blurred"), "ci_low"] > 0
    summary = summarize_evaluation(scores, truth, n_bootstrap=300)
    assert cmp.loc[("sharp", "blurred"), "mean_difference"] == pytest.approx(
        summary.loc["sharp", "mean_tau_w"] - summary.loc["blurred", "mean_tau_w"]
    )


def test_compare_scorers_reports_unknown_pairs():
    scores, truth = _long_tables()
    with pytest.raises(ValueError, match="must name two rows"):
        compare_scorers(scores, truth, pairs=[("sharp", "nope")], n_bootstrap=10)


def test_summarize_evaluation_loto_row_is_leave_one_target_out():
    scores, truth = _long_tables(n_targets=4)
    settings = ["sharp", "blurred", "size"]
    summary = summarize_evaluation(
        scores, truth, selections={"chosen": settings}, n_bootstrap=100
    )
    per_target = pd.DataFrame(
        {
            name: [
                stats.weightedtau(
                    block.set_index("model")["score"].loc[t.index].to_numpy(),
                    t.to_numpy(),
                ).statistic
                for target, block in scores[scores["scorer"] == name].groupby("target")
                for t in [
                    truth[truth["target"] == target].set_index("model")["accuracy"]
                ]
            ]
            for name in settings
        }
    ).T
    expected = leave_one_target_out(per_target).mean
    assert summary.loc["chosen", "kind"] == "loto"
    assert summary.loc["chosen", "mean_tau_w"] == pytest.approx(expected)


def test_summarize_evaluation_reports_bad_tables():
    scores, truth = _long_tables()
    with pytest.raises(ValueError, match="missing"):
        summarize_evaluation(scores.drop(columns="score"), truth, n_bootstrap=10)
    with pytest.raises(ValueError, match="not scorers"):
        summarize_evaluation(scores, truth, controls=["nope"], n_bootstrap=10)
    with pytest.raises(ValueError, match="selection"):
        summarize_evaluation(scores, truth, selections={"x": ["nope"]}, n_bootstrap=10)


# --------------------------------------------------------------------------- #
# leave-one-target-out
# --------------------------------------------------------------------------- #
def test_leave_one_target_out_by_hand():
    values = pd.DataFrame(
        {"t1": [0.9, 0.1, 0.5], "t2": [0.2, 0.5, 0.4], "t3": [0.8, 0.6, 0.45]},
        index=["a", "b", "c"],
    )
    res = leave_one_target_out(values)
    # t1 held out: means on t2, t3 are a 0.5, b 0.55, c 0.425 -> b (0.1)
    # t2 held out: a 0.85, b 0.35, c 0.475 -> a (0.2)
    # t3 held out: a 0.55, b 0.3, c 0.45 -> a (0.8)
    assert res.choices["chosen"].tolist() == ["b", "a", "a"]
    assert res.choices["held_out"].tolist() == pytest.approx([0.1, 0.2, 0.8])
    assert res.mean == pytest.approx(1.1 / 3)
    assert res.in_sample_best == "a"
    assert res.in_sample_mean == pytest.approx(1.9 / 3)
    low = leave_one_target_out(-values, higher_is_better=False)
    assert low.choices["chosen"].tolist() == ["b", "a", "a"]
    assert low.mean == pytest.approx(-1.1 / 3)


def test_leave_one_target_out_skips_missing_values():
    values = pd.DataFrame(
        {"t1": [0.9, np.nan], "t2": [0.1, 0.5], "t3": [0.1, 0.5]}, index=["a", "b"]
    )
    res = leave_one_target_out(values)
    # b has no value on t1: it cannot be chosen there; on t2 and t3 its
    # training mean skips its missing t1 (0.5 against a's 0.5 -> tie, a first)
    assert res.choices["chosen"].tolist() == ["a", "a", "a"]
    with pytest.raises(ValueError, match="at least two targets"):
        leave_one_target_out(values[["t1"]])


# --------------------------------------------------------------------------- #
# rank aggregation
# --------------------------------------------------------------------------- #
def test_rank_aggregate_methods_by_hand():
    ranking = pd.DataFrame(
        {"model": list("abcd"), "x": [4.0, 3.0, 2.0, 1.0], "y": [1.0, 4.0, 3.0, 2.0]}
    )
    mean = rank_aggregate(ranking, ["x", "y"])
    # ranks x: 1 2 3 4; y: 4 1 2 3 -> mean 2.5 1.5 2.5 3.5
    assert mean["mean_rank(x+y)"].tolist() == [-2.5, -1.5, -2.5, -3.5]
    assert mean["mean_rank(x+y)_rank"].tolist() == [2, 1, 2, 4]
    borda = rank_aggregate(ranking, ["x", "y"], method="borda", name="b")
    assert borda["b"].tolist() == [3.0, 5.0, 3.0, 1.0]
    z = rank_aggregate(ranking, ["x", "y"], method="mean_zscore", name="z")
    zx = (ranking["x"] - 2.5) / ranking["x"].std(ddof=0)
    zy = (ranking["y"] - 2.5) / ranking["y"].std(ddof=0)
    assert z["z"].to_numpy() == pytest.approx(((zx + zy) / 2).to_numpy())


def test_rank_aggregate_missing_scores_and_errors():
    ranking = pd.DataFrame(
        {
            "model": list("abc"),
            "x": [3.0, np.nan, 1.0],
            "y": [1.0, 2.0, 3.0],
            "flat": [1.0, 1.0, 1.0],
        }
    )
    out = rank_aggregate(ranking, ["x", "y"])
    # b: only y scored it (rank 2); a: (1 + 3) / 2; c: (2 + 1) / 2
    assert out["mean_rank(x+y)"].tolist() == [-2.0, -2.0, -1.5]
    with pytest.raises(ValueError, match="at least two"):
        rank_aggregate(ranking, ["x"])
    with pytest.raises(ValueError, match="not a column"):
        rank_aggregate(ranking, ["x", "nope"])
    with pytest.raises(ValueError, match="tie every model"):
        rank_aggregate(ranking, ["x", "flat"], method="mean_zscore")


# --------------------------------------------------------------------------- #
# the published hub's data-free controls
# --------------------------------------------------------------------------- #
#: torchvision 0.29.1 IMAGENET1K_V1 meta (acc@1, num_params), typed from
#: ``get_model_weights(name).IMAGENET1K_V1.meta``.
TORCHVISION_V1 = {
    "resnet34": (73.314, 21797672),
    "resnet50": (76.130, 25557032),
    "resnet101": (77.374, 44549160),
    "resnet152": (78.312, 60192808),
    "densenet121": (74.434, 7978856),
    "densenet169": (75.600, 14149480),
    "densenet201": (76.896, 20013928),
    "mnasnet1_0": (73.456, 4383312),
    "mobilenet_v2": (71.878, 3504872),
    "googlenet": (69.778, 6624904),
    "inception_v3": (77.294, 27161264),
}


def test_hub_controls_ship_torchvision_numbers_and_loo_means():
    controls = load_finetune_controls()
    acc = load_finetune_benchmark()
    assert controls.shape == (121, 3)
    for model, (top1, n_params) in TORCHVISION_V1.items():
        assert controls.loc[("DTD", model), "imagenet_top1"] == top1
        assert controls.loc[("DTD", model), "n_params"] == n_params
    others = acc.drop(index="Pets")["resnet50"].mean()
    assert controls.loc[("Pets", "resnet50"), "mean_other_datasets"] == (
        pytest.approx(others)
    )


def test_hub_controls_weighted_tau_known_values():
    acc = load_finetune_benchmark()
    controls = load_finetune_controls()
    top1 = np.array([TORCHVISION_V1[m][0] for m in acc.columns])
    size = np.array([TORCHVISION_V1[m][1] for m in acc.columns], dtype=float)
    oracle = {"imagenet_top1": [], "n_params": [], "mean_other_datasets": []}
    ours = {k: [] for k in oracle}
    for dataset in acc.index:
        row = acc.loc[dataset].to_numpy()
        loo = acc.drop(index=dataset).mean(axis=0).to_numpy()
        for name, x in (
            ("imagenet_top1", top1),
            ("n_params", size),
            ("mean_other_datasets", loo),
        ):
            oracle[name].append(stats.weightedtau(x, row).statistic)
        block = controls.loc[dataset]
        ranking = pd.DataFrame({"s": block["n_params"]})
        ev = evaluate_ranking(
            ranking, acc, dataset=dataset, scorers="s", controls=block, k=1
        )
        for name in ours:
            ours[name].append(ev.loc[name, "weighted_kendall_tau"])
    for name in oracle:
        assert ours[name] == pytest.approx(oracle[name], abs=1e-12)
    means = {k: np.mean(v) for k, v in oracle.items()}
    # mean over the 11 datasets; LogME's published mean is 0.509, SFDA's 0.710
    assert means["imagenet_top1"] == pytest.approx(0.6543, abs=5e-5)
    assert means["n_params"] == pytest.approx(0.5784, abs=5e-5)
    assert means["mean_other_datasets"] == pytest.approx(0.8368, abs=5e-5)
    assert oracle["imagenet_top1"][list(acc.index).index("Flowers")] == (
        pytest.approx(0.2521, abs=5e-5)
    )
