"""The seeds stage's tables: seed-to-seed noise ceiling and scorers against it.

Input: ``truth_seeds.csv`` (``target, model, seed, task, finetune,
linear_probe``: the ground truth of every seed) and ``scores_seeds.csv``
(``target, seed, model, scorer, score``: each seed's scores on its own split).

* **Noise ceiling** of a target: the weighted Kendall τ between the fine-tuning
  rankings of two seeds, over every pair of seeds (mean, min, max). A score is
  compared with *one* seed's truth, so it cannot be expected to agree with that
  truth better than another seed's truth does.
* **Scorers**: each scorer's τ_w against each seed's truth, scored on that
  seed's split; per target the mean and the standard deviation over seeds, and
  over targets the mean of each seed's target-mean (± its sd over seeds).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from zoo_report import evaluate, fmt, is_sweep


def _tau(a, b):
    from skdisco.selection import weighted_kendall_tau

    keep = np.isfinite(a) & np.isfinite(b)
    if keep.sum() < 2:
        return np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(weighted_kendall_tau(a[keep], b[keep]))


def seed_pairs(truth, column="finetune"):
    """Long table ``target, seed_a, seed_b, tau_w``: every pair of seeds."""
    rows = []
    for target, g in truth.groupby("target", sort=False):
        wide = g.pivot(index="model", columns="seed", values=column)
        for a, b in itertools.combinations(sorted(wide.columns), 2):
            rows.append({"target": target, "seed_a": a, "seed_b": b,
                         "tau_w": _tau(wide[a].to_numpy(float),
                                       wide[b].to_numpy(float))})
    return pd.DataFrame(rows, columns=["target", "seed_a", "seed_b", "tau_w"])


def noise_ceiling(truth, column="finetune"):
    """Per target: seeds, pairs, mean / min / max seed-to-seed τ_w.

    Also the mean over models of the per-model standard deviation of the
    truth over seeds (``truth_sd``), in the truth's own unit.
    """
    pairs = seed_pairs(truth, column)
    ceil = pairs.groupby("target", sort=False)["tau_w"].agg(
        ceiling_mean="mean", ceiling_min="min", ceiling_max="max",
        n_pairs="count",
    )
    sd = truth.groupby(["target", "model"], sort=False)[column].std(ddof=1)
    ceil["truth_sd"] = sd.groupby(level="target", sort=False).mean()
    ceil["n_seeds"] = truth.groupby("target", sort=False)["seed"].nunique()
    return ceil[["n_seeds", "n_pairs", "ceiling_mean", "ceiling_min",
                 "ceiling_max", "truth_sd"]]


def scorer_taus(truth, scores, column="finetune"):
    """Long table ``seed, target, scorer, tau_w``: each seed's own evaluation."""
    out = []
    for seed, tr in truth.groupby("seed"):
        sc = scores[scores["seed"] == seed].drop(columns="seed")
        ev = evaluate(sc, tr.drop(columns="seed"))
        ev = ev[(ev["truth"] == column) & ~ev["scorer"].map(is_sweep)]
        ev = ev[["target", "scorer", "weighted_kendall_tau"]].rename(
            columns={"weighted_kendall_tau": "tau_w"})
        ev.insert(0, "seed", seed)
        out.append(ev)
    return pd.concat(out, ignore_index=True)


def scorer_summary(taus, ceiling):
    """Per scorer: mean ± sd over seeds per target, and over targets.

    ``mean`` / ``sd``: the mean over targets of each seed's τ_w, then its mean
    and standard deviation over seeds (scorers evaluated on every target
    only; the others get their mean over the targets they have, and
    ``n_targets`` says how many). ``below_ceiling``: targets where the
    scorer's mean τ_w is below that target's mean seed-to-seed τ_w.
    """
    per = taus.groupby(["scorer", "target"])["tau_w"].agg(["mean", "std"])
    wide = {}
    for (scorer, target), r in per.iterrows():
        wide.setdefault(scorer, {})[target] = f"{r['mean']:.3f} ± {r['std']:.3f}"
    table = pd.DataFrame.from_dict(wide, orient="index")
    table = table[[t for t in ceiling.index if t in table.columns]]
    by_seed = taus.groupby(["scorer", "seed"])["tau_w"].mean()
    overall = by_seed.groupby(level="scorer").agg(["mean", "std"])
    table["mean over targets"] = [
        f"{overall.loc[s, 'mean']:.3f} ± {overall.loc[s, 'std']:.3f}"
        for s in table.index
    ]
    ceil = ceiling["ceiling_mean"]
    below = per["mean"].unstack("target").lt(ceil, axis=1).sum(axis=1)
    table["n_targets"] = taus.groupby("scorer")["target"].nunique()
    table["below_ceiling"] = below.reindex(table.index).astype(int)
    order = overall["mean"].reindex(table.index).sort_values(ascending=False)
    table = table.loc[order.index]
    table.index.name = "scorer"
    return table, overall


def ceiling_row(ceiling):
    """The noise ceiling as a row of :func:`scorer_summary`'s table."""
    row = {t: f"{r.ceiling_mean:.3f} [{r.ceiling_min:.3f}, {r.ceiling_max:.3f}]"
           for t, r in ceiling.iterrows()}
    row["mean over targets"] = f"{ceiling['ceiling_mean'].mean():.3f}"
    row["n_targets"] = int(ceiling.shape[0])
    row["below_ceiling"] = ""
    return pd.DataFrame([row], index=["seed-to-seed (noise ceiling)"])


def seeds_report(truth, scores, *, seconds=None, profile=""):
    """``seeds_report.md``: the noise ceiling and every scorer next to it."""
    n_seeds = truth["seed"].nunique()
    ceiling = noise_ceiling(truth)
    taus = scorer_taus(truth, scores)
    table, _ = scorer_summary(taus, ceiling)
    table = pd.concat([ceiling_row(ceiling), table])
    table.index.name = "scorer"
    lp = noise_ceiling(truth, "linear_probe")
    lines = [
        "## Seeds: the noise ceiling of the fine-tuning ground truth", "",
        f"Profile `{profile}`: {n_seeds} seeds (0..{n_seeds - 1}), "
        f"{truth['model'].nunique()} candidates, targets "
        f"{', '.join(ceiling.index)}. Seed k re-draws each target's train/test "
        "split (`zoo_data.load_target(seed=k)`) and fine-tunes with "
        "`random_state=k` (head initialisation, batch order); every scorer is "
        "computed on seed k's own training rows. The pre-trained checkpoints "
        "are the same under every seed (the zoo's pre-training is not "
        "repeated). Seed 0 is the single-seed truth of the other tables.", "",
        "Noise ceiling: weighted τ between the fine-tuning rankings of two "
        "seeds, over every pair (mean, min, max); `truth_sd`: mean over "
        "candidates of the standard deviation of the fine-tuned accuracy "
        "(R² for ising_temperature) over seeds.", "",
        fmt(ceiling.astype(object)), "",
        "The same for the linear-probe truth:", "",
        fmt(lp.astype(object)), "",
        "## Scorers against each seed's fine-tuning truth", "",
        "τ_w per target: mean ± standard deviation over seeds; `mean over "
        "targets`: mean over seeds of the seed's mean over targets ± its sd "
        "over seeds; `below_ceiling`: targets where the scorer's mean τ_w is "
        "below the seed-to-seed mean. The first row is the ceiling "
        "(mean [min, max] over seed pairs).", "",
        fmt(table), "",
    ]
    if seconds:
        total = sum(seconds.values())
        per = ", ".join(f"seed {k}: {v:.0f} s" for k, v in seconds.items())
        lines += [f"Time of this run: {total:.0f} s ({per}; cached work is not "
                  "repeated, so a seed whose runs were cached costs less).", ""]
    return "\n".join(lines)


TIMINGS = "seeds_timings.json"


def write_report(out):
    """Write ``out/seeds_report.md`` from the seeds stage's files; its text."""
    out = Path(out)
    truth = pd.read_csv(out / "truth_seeds.csv")
    scores = pd.read_csv(out / "scores_seeds.csv")
    timings = out / TIMINGS
    seconds = None
    if timings.exists():
        seconds = {int(k): v for k, v in json.loads(timings.read_text()).items()}
    text = seeds_report(truth, scores, seconds=seconds, profile=out.name)
    (out / "seeds_report.md").write_text(text)
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Rewrite seeds_report.md from truth_seeds.csv and "
        "scores_seeds.csv (run.py --stage seeds writes all three)."
    )
    parser.add_argument("out", type=Path, help="results folder of a profile")
    print(write_report(parser.parse_args(argv).out))


if __name__ == "__main__":
    sys.exit(main())
