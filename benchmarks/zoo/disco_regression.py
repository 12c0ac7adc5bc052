"""DISCO's regression score out of sample, on the zoo (issue 18, point 5).

    python benchmarks/zoo/disco_regression.py                 # every stage
    python benchmarks/zoo/disco_regression.py --stage truth   # one stage

S_lr, DISCO's per-group regression score, is an in-sample least-squares fit, so a
wider spectral group fits more by construction. This script compares its readings
(``regression_score="in_sample"`` / ``"loo"`` / ``"evidence"`` of
:func:`skdisco.transferability.disco`, each at 1, 2, 4, 8 and 16 groups) with
LogME on the 42 candidates of the full profile, on two regression targets:

* ``ising_temperature``, the zoo's own regression target (ground truth:
  ``benchmarks/results/full/ground_truth.csv``);
* ``cahn_hilliard_energy`` (:func:`zoo_data.load_target`), held back from the
  zoo's tables: Cahn-Hilliard microstructures and their free energy, 1 000 train
  and 1 000 test rows, fine-tuned here with the zoo's protocol
  (:func:`zoo_stages.finetune`, L2-SP, the full profile's 4 epochs).

It chooses the regression reading (and its number of groups) leave-one-target-out
over these two targets -- tuned on one, reported on the other -- and writes

* ``benchmarks/results/full/disco_regression.csv`` (τ_w per target, setting) and
  ``disco_regression.md`` (the tables of ``docs/methods/disco.md``);
* ``benchmarks/results/full/disco_regression_truth.csv``: the held-back target's
  ground truth (linear probe, fine-tuning);
* the new settings' rows of ``benchmarks/results/full/scores.csv`` (the
  ``ising_temperature`` rows of the ``disco[...,lr=...]`` columns, and of
  ``disco`` under its new default) and of ``disco_sweep.csv`` (the sweep's
  schema), replacing earlier rows of the same names, so the zoo's table stage
  reads them (see :func:`write_zoo_rows`).

Stages are cached under ``--cache`` (default ``benchmarks/zoo/.cache/
disco_regression``, git-ignored); the pre-trained zoo is read from
``--zoo-cache`` (run.py's cache of the full profile), never written.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))

from run import PROFILES, log, set_threads  # noqa: E402

STAGES = ("features", "truth", "scores", "table")
TARGETS = ("ising_temperature", "cahn_hilliard_energy")
HELD_BACK = "cahn_hilliard_energy"
GROUPS = (1, 2, 4, 8, 16)
READINGS = ("in_sample", "loo", "evidence")


def settings():
    """``{column: DiscoScorer params}`` of this comparison (the zoo sweep's)."""
    from zoo_stages import disco_regression_settings

    return disco_regression_settings()


def setting_of(name):
    """``(n_groups, reading)`` of a ``disco[...]`` column of :func:`settings`."""
    params = settings()[name]
    return params["n_groups"], params["regression_score"]


def prepare_cache(cache, zoo_cache):
    """``cache`` with a read-only link to the pre-trained zoo's checkpoints."""
    cache.mkdir(parents=True, exist_ok=True)
    link = cache / "zoo"
    if not link.exists():
        link.symlink_to((zoo_cache / "zoo").resolve(), target_is_directory=True)
    return cache


def load_targets(profile):
    from zoo_data import load_target

    return [
        load_target(name, n_train=profile["n_train"], n_test=profile["n_test"],
                    seed=0)
        for name in TARGETS
    ]


def stage_features(candidates, targets, cache):
    from zoo_stages import extract

    for target in targets:
        t0 = time.perf_counter()
        for cand in candidates:
            extract(cand, target, cache)
        log(f"features: {target.name} ({time.perf_counter() - t0:.0f}s)")


def stage_truth(profile, candidates, target, cache, out):
    """Linear probe and L2-SP fine-tuning of every candidate on ``target``."""
    from zoo_stages import finetune, linear_probe

    rows = []
    t0 = time.perf_counter()
    for i, cand in enumerate(candidates):
        ft = finetune(target, cand, cache, max_epochs=profile["finetune_epochs"])
        rows.append({
            "target": target.name, "model": cand.name, "task": target.task,
            "kind": cand.kind, "arch": cand.arch, "family": cand.family,
            "source": cand.source, "epoch": cand.epoch,
            "linear_probe": linear_probe(target, cand, cache),
            "finetune": ft["score"], "finetune_s": ft["fit_s"],
        })
        log(f"truth: {i + 1}/{len(candidates)} {cand.name}: "
            f"{ft['score']:.3f} ({ft['fit_s']:.0f}s)")
    log(f"truth: {target.name} ({time.perf_counter() - t0:.0f}s)")
    truth = pd.DataFrame(rows)
    truth.to_csv(out / "disco_regression_truth.csv", index=False,
                 float_format="%.4f")
    return truth


def stage_scores(candidates, targets, cache, out):
    """LogME, DISCO's default and every reading of :func:`settings`, long table."""
    from zoo_stages import load_features

    from skdisco.scorers import DiscoScorer, LogMEScorer
    from skdisco.selection import rank_models

    scorers = {"logme": LogMEScorer(), "disco": DiscoScorer()}
    scorers.update({name: DiscoScorer(**p) for name, p in settings().items()})
    longs = []
    for target in targets:
        t0 = time.perf_counter()
        models = {c.name: {"features": load_features(cache, target, c)[0]}
                  for c in candidates}
        y = target.y_train
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = rank_models(models, y=y, scorers=scorers,
                                cache_dir=cache / "rank" / target.name)
            # LogME has no intercept: on the raw Cahn-Hilliard energy (mean
            # about 6 standard deviations from 0) it finds no maximum for a few
            # candidates; "logme_std" scores the standardised target, as DISCO.
            std = rank_models(models, y=(y - y.mean()) / y.std(),
                              scorers={"logme_std": LogMEScorer()},
                              cache_dir=cache / "rank" / f"{target.name}_std")
        table = table.merge(std[["model", "logme_std"]], on="model")
        for _, row in table[table[list(scorers)].isna().any(axis=1)].iterrows():
            log(f"scores: {target.name} {row['model']}: {row['error']}")
        if table.drop(columns=["logme"])[list(scorers)[1:]].isna().any().any():
            raise RuntimeError(f"DISCO failed on {target.name}; see the log")
        long = table.melt(id_vars=["model"], value_vars=[*scorers, "logme_std"],
                          var_name="scorer", value_name="score")
        long.insert(0, "target", target.name)
        longs.append(long)
        log(f"scores: {target.name} ({time.perf_counter() - t0:.0f}s, "
            f"{len(scorers)} scorers x {len(candidates)} candidates)")
    scores = pd.concat(longs, ignore_index=True)
    scores.to_csv(cache / "scores.csv", index=False)
    return scores


def load_truth(out):
    """Ground truth of both targets: the zoo's table, and this script's."""
    zoo = pd.read_csv(out / "ground_truth.csv")
    held = pd.read_csv(out / "disco_regression_truth.csv")
    zoo = zoo[zoo["target"] == "ising_temperature"]
    return pd.concat([zoo, held[zoo.columns]], ignore_index=True)


def leave_one_target_out(tau, options):
    """Per held-out target: the option best on the other target, and its τ_w there.

    ``tau``: τ_w against fine-tuning, index option, columns targets.
    """
    rows = []
    for held in TARGETS:
        (other,) = [t for t in TARGETS if t != held]
        sub = tau.loc[options]
        chosen = sub[other].idxmax()
        best_here = sub[held].idxmax()
        rows.append({
            "held_out": held, "tuned_on": other, "chosen": chosen,
            "tau_w_tuned_on": sub.loc[chosen, other],
            "tau_w_held_out": sub.loc[chosen, held],
            "in_sample_best": best_here,
            "tau_w_in_sample_best": sub.loc[best_here, held],
        })
    return pd.DataFrame(rows)


def evaluate(scores, truth):
    """τ_w and Pearson of every scorer against both ground truths, per target."""
    from skdisco.selection import pearson_correlation, weighted_kendall_tau

    rows = []
    for (target, scorer), block in scores.groupby(["target", "scorer"], sort=False):
        gt = truth[truth["target"] == target].set_index("model")
        s = block.set_index("model")["score"].astype(float)
        for kind in ("finetune", "linear_probe"):
            t = gt[kind].reindex(s.index).astype(float)
            keep = np.isfinite(s) & np.isfinite(t)
            rows.append({
                "target": target, "truth": kind, "scorer": scorer,
                "weighted_kendall_tau": weighted_kendall_tau(s[keep], t[keep]),
                "pearson": pearson_correlation(s[keep], t[keep]),
                "n_models": int(keep.sum()),
            })
    return pd.DataFrame(rows)


def stage_table(scores, truth, out):
    from zoo_report import fmt

    ev = evaluate(scores, truth)
    ev.to_csv(out / "disco_regression.csv", index=False, float_format="%.4f")
    ft = ev[ev["truth"] == "finetune"].pivot(
        index="scorer", columns="target", values="weighted_kendall_tau")
    lp = ev[ev["truth"] == "linear_probe"].pivot(
        index="scorer", columns="target", values="weighted_kendall_tau")
    rows = []
    for name in settings():
        g, reading = setting_of(name)
        rows.append({"reading": reading, "n_groups": g, "scorer": name})
    grid = pd.DataFrame(rows)
    wide = {}
    for target in TARGETS:
        wide[target] = grid.assign(
            tau=ft.loc[grid["scorer"], target].to_numpy()
        ).pivot(index="reading", columns="n_groups", values="tau")
    summary = pd.DataFrame({
        f"{t}, {kind}": tab.loc[["logme", "logme_std", "disco"], t]
        for kind, tab in (("fine-tuning", ft), ("linear probe", lp))
        for t in TARGETS
    })
    at_two = [n for n in settings() if setting_of(n)[0] == 2]
    loto_reading = leave_one_target_out(ft, at_two)
    loto_joint = leave_one_target_out(ft, list(settings()))
    lines = [
        "# DISCO's regression readings on the zoo "
        "(generated by `benchmarks/zoo/disco_regression.py`)", "",
        f"42 candidates of the full profile; targets {', '.join(TARGETS)} "
        f"({HELD_BACK} held back from the zoo's tables). τ_w: weighted Kendall τ "
        "against L2-SP fine-tuning (R²).", "",
        "## LogME and DISCO's default (τ_w)", "", fmt(summary), "",
    ]
    for target in TARGETS:
        tab = wide[target].loc[list(READINGS)]
        tab.columns = [f"g={c}" for c in tab.columns]
        lines += [f"## τ_w against fine-tuning by reading and groups, {target}",
                  "", fmt(tab), ""]
    for title, tab in (
        ("reading at DISCO's default n_groups=2", loto_reading),
        ("reading and n_groups jointly", loto_joint),
    ):
        lines += [f"## Leave one target out: {title}", "",
                  fmt(tab.set_index("held_out")), ""]
    md = "\n".join(lines)
    (out / "disco_regression.md").write_text(md)
    print(md)
    return ev


def write_zoo_rows(scores, out):
    """The new sweep columns' rows of the zoo's ``scores.csv`` / ``disco_sweep.csv``.

    The rows of ``ising_temperature``, the zoo's regression target, computed
    here; their ``disco_sweep.csv`` rows have ``n_targets = 1``. On the
    classification targets ``regression_score`` is not used (tested by
    ``test_regression_score_does_not_change_classification``) and the stored
    full-profile sweep has no isotropic columns to equal, so no rows are
    written there: a full zoo run computes them. The ``disco``
    column (DISCO's defaults) on ``ising_temperature`` is replaced by its value
    under the new default ``regression_score="evidence"``. Rows of the same
    names are replaced, so a re-run does not duplicate them.
    """
    from zoo_report import evaluate as zoo_evaluate
    from zoo_report import summarise, sweep_table
    from zoo_stages import disco_sweep_settings

    new = [n for n in disco_sweep_settings() if ",lr=" in n]
    zoo_scores = pd.read_csv(out / "scores.csv")
    # DISCO's default regression reading changed (issue 18): its rows on the
    # regression target are replaced too.
    stale = zoo_scores["scorer"].isin(new) | (
        (zoo_scores["scorer"] == "disco")
        & (zoo_scores["target"] == "ising_temperature"))
    zoo_scores = zoo_scores[~stale]
    parts = [scores[(scores["target"] == "ising_temperature")
                    & scores["scorer"].isin([*new, "disco"])]]
    added = pd.concat(parts, ignore_index=True)[zoo_scores.columns]
    merged = pd.concat([zoo_scores, added], ignore_index=True)
    merged.to_csv(out / "scores.csv", index=False, float_format="%.6g")
    truth = pd.read_csv(out / "ground_truth.csv")
    rows = sweep_table(summarise(zoo_evaluate(
        merged[merged["scorer"].isin([*new, "disco"])], truth)))
    table = pd.read_csv(out / "disco_sweep.csv", index_col=0)
    table = table.drop(index=[n for n in [*new, "disco"] if n in table.index])
    table = pd.concat([table, rows[table.columns]])
    table.sort_values("tau_w_mean", ascending=False).to_csv(
        out / "disco_sweep.csv", float_format="%.4f")
    log(f"zoo tables: {len(added)} rows of {len(new)} columns in scores.csv, "
        f"{len(rows)} rows in disco_sweep.csv")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=STAGES, action="append")
    parser.add_argument("--cache", type=Path,
                        default=HERE / ".cache" / "disco_regression")
    parser.add_argument("--zoo-cache", type=Path, default=HERE / ".cache" / "full")
    parser.add_argument("--out", type=Path,
                        default=REPO / "benchmarks" / "results" / "full")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    from zoo_data import load_target  # noqa: F401
    from zoo_models import make_candidates

    profile = PROFILES["full"]
    candidates = make_candidates(profile)
    cache = prepare_cache(args.cache, args.zoo_cache)
    targets = load_targets(profile)
    stages = args.stage or list(STAGES)
    log(f"{len(candidates)} candidates, targets {TARGETS}, stages {stages}")
    if "features" in stages:
        stage_features(candidates, targets, cache)
    if "truth" in stages:
        held = next(t for t in targets if t.name == HELD_BACK)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stage_truth(profile, candidates, held, cache, args.out)
    if "scores" in stages or "table" in stages:
        scores = stage_scores(candidates, targets, cache, args.out)
    if "table" in stages:
        stage_table(scores, load_truth(args.out), args.out)
        write_zoo_rows(scores, args.out)
    log("done")


if __name__ == "__main__":
    sys.exit(main())
