"""Real offline model-ranking benchmark: a zoo of small timm models.

    python benchmarks/zoo/run.py            # full profile (< 2 h on 2 CPU cores)
    python benchmarks/zoo/run.py --quick    # quick profile (< 10 min)
    python benchmarks/zoo/run.py --stage table   # one stage (earlier ones cached)

Stages, each cached under ``--cache`` (default ``benchmarks/zoo/.cache/<profile>``,
git-ignored) and skipped when its output exists:

1. ``zoo``      -- pre-train the zoo from scratch (:mod:`zoo_models`).
2. ``features`` -- features + source-head probabilities of every target's images.
3. ``scores``   -- every skdisco scorer and the DISCO sweep, via ``rank_models``.
4. ``truth``    -- ground truth: linear probe and fine-tuning (L2-SP), plus L2
                   fine-tuning of a subset for the L2 vs L2-SP question.
5. ``table``    -- weighted Kendall τ, Pearson, top-1 relative accuracy per target
                   against both ground truths (``evaluate_ranking``), data-free
                   controls, bootstrap intervals (``summarize_evaluation``),
                   leave-one-target-out rows for the DISCO sweep and the
                   ensembles, CSV + Markdown in ``benchmarks/results/<profile>/``;
                   reads only that folder's CSVs (no cache, no data).
6. ``figures``  -- the two questions' figures (``docs/figures/zoo_*.png`` for the
                   full profile, ``benchmarks/results/quick/`` for the quick one).

Data, candidates and protocols: :mod:`zoo_data`, :mod:`zoo_models`,
:mod:`zoo_stages`; the write-up is ``docs/zoo_benchmark.md``. Nothing downloads.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

STAGES = ("zoo", "features", "scores", "truth", "table", "figures")

PROFILES = {
    "full": dict(
        archs=("resnet10t", "test_convnext", "mobilenetv3_small_050", "test_vit",
               "test_efficientnet"),
        sources=("mnist", "fashion", "optdigits"),
        final_only_sources=("optdigits",),
        source_samples=5000,
        epochs=6,
        checkpoints=(1, 3, 6),
        lites=(0, 1, 2),
        random=("resnet10t", "test_convnext", "test_vit", "tf_efficientnet_lite0"),
        targets=("digits", "fashion", "mnist", "fashion_tops", "ising_phase",
                 "ising_temperature"),
        n_train=1000,
        n_test=1000,
        finetune_epochs=4,
        l2_targets=("digits", "fashion", "ising_phase"),
        l2_source="mnist",
    ),
    "quick": dict(
        archs=("test_convnext", "test_efficientnet"),
        sources=("mnist", "fashion"),
        final_only_sources=(),
        source_samples=2000,
        epochs=3,
        checkpoints=(1, 3),
        lites=(0,),
        random=("test_convnext",),
        targets=("digits", "fashion", "ising_phase", "ising_temperature"),
        n_train=500,
        n_test=500,
        finetune_epochs=2,
        l2_targets=("digits", "fashion"),
        l2_source="mnist",
    ),
}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def set_threads(n):
    os.environ.setdefault("OMP_NUM_THREADS", str(n))
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(n)
    threadpool_limits(n)


def load_targets(profile):
    from zoo_data import load_target, target_available

    out = []
    for name in profile["targets"]:
        if not target_available(name):
            log(f"target {name}: data not on this machine, skipped")
            continue
        out.append(load_target(name, n_train=profile["n_train"],
                               n_test=profile["n_test"], seed=0))
    return out


def l2_subset(profile, candidates):
    final = [c for c in candidates if c.kind == "zoo" and c.epoch == c.final_epoch
             and c.source == profile["l2_source"]]
    lite = [c for c in candidates if c.kind == "imagenet"][:1]
    return final + lite


# --------------------------------------------------------------------------- #
def stage_zoo(profile, cache, out):
    import pandas as pd
    from zoo_models import train_run

    rows = []
    for source in profile["sources"]:
        for arch in profile["archs"]:
            log(f"zoo: {arch}@{source}")
            n = profile["source_samples"]
            meta = train_run(arch, source, n_samples=n, epochs=profile["epochs"],
                             checkpoints=profile["checkpoints"], cache=cache,
                             log=log)
            for e, info in meta["checkpoints"].items():
                rows.append({"run": f"{arch}@{source}", "arch": arch,
                             "source": source, "epoch": int(e),
                             "n_samples": meta["n_samples"],
                             "train_s": round(meta.get("train_s", 0.0), 1), **info})
    pd.DataFrame(rows).to_csv(out / "zoo.csv", index=False, float_format="%.4f")


def stage_features(candidates, targets, cache):
    from zoo_stages import extract

    seen = set()
    for target in targets:
        if target.image_set in seen:
            continue
        seen.add(target.image_set)
        t0 = time.perf_counter()
        for cand in candidates:
            extract(cand, target, cache)
        log(f"features: {target.image_set} ({len(candidates)} candidates, "
            f"{time.perf_counter() - t0:.0f}s)")


def stage_scores(candidates, targets, cache, out, n_jobs):
    import pandas as pd
    from zoo_stages import score_target

    longs, errors = [], []
    for target in targets:
        t0 = time.perf_counter()
        long, err = score_target(target, candidates, cache, n_jobs=n_jobs)
        longs.append(long)
        errors.append(err)
        log(f"scores: {target.name} ({time.perf_counter() - t0:.0f}s)")
    pd.concat(longs).to_csv(out / "scores.csv", index=False, float_format="%.6g")
    err = pd.concat(errors)
    err.to_csv(out / "scoring_log.csv", index=False, float_format="%.3f")


def _ft_job(target, cand, cache, epochs, reg, threads):
    set_threads(threads)
    from zoo_stages import finetune

    return finetune(target, cand, cache, max_epochs=epochs, regularization=reg)


def stage_truth(profile, candidates, targets, cache, out, n_jobs):
    import pandas as pd
    from joblib import Parallel, delayed
    from zoo_stages import linear_probe

    rows = []
    t0 = time.perf_counter()
    for target in targets:
        for cand in candidates:
            rows.append({
                "target": target.name, "model": cand.name, "task": target.task,
                "kind": cand.kind, "arch": cand.arch, "family": cand.family,
                "source": cand.source, "epoch": cand.epoch,
                "linear_probe": linear_probe(target, cand, cache),
            })
    log(f"truth: linear probes ({time.perf_counter() - t0:.0f}s)")
    jobs = [(t, c, "l2-sp") for t in targets for c in candidates]
    l2_cands = l2_subset(profile, candidates)
    jobs += [(t, c, "l2") for t in targets if t.name in profile["l2_targets"]
             for c in l2_cands]
    t0 = time.perf_counter()
    epochs = profile["finetune_epochs"]
    if n_jobs > 1:
        results = Parallel(n_jobs=n_jobs, verbose=5)(
            delayed(_ft_job)(t, c, cache, epochs, reg, 1) for t, c, reg in jobs
        )
    else:
        from zoo_stages import finetune

        results = []
        for i, (t, c, reg) in enumerate(jobs):
            r = finetune(t, c, cache, max_epochs=epochs, regularization=reg)
            results.append(r)
            if (i + 1) % 10 == 0 or i + 1 == len(jobs):
                log(f"truth: fine-tuned {i + 1}/{len(jobs)} "
                    f"({time.perf_counter() - t0:.0f}s; last {c.name} on "
                    f"{t.name}: {r['score']:.3f})")
    ft = pd.DataFrame.from_records(results)
    main = ft[ft["regularization"] == "l2-sp"][["target", "model", "score", "fit_s"]]
    main = main.rename(columns={"score": "finetune", "fit_s": "finetune_s"})
    truth = pd.DataFrame(rows).merge(main, on=["target", "model"], how="left")
    truth.to_csv(out / "ground_truth.csv", index=False, float_format="%.4f")
    ft.to_csv(out / "finetune_runs.csv", index=False, float_format="%.4f")


def stage_table(out, n_bootstrap=1000):
    """Every table from the CSVs of the results folder (no cache, no data)."""
    import pandas as pd
    import zoo_report as zr

    scores = pd.read_csv(out / "scores.csv")
    truth = pd.read_csv(out / "ground_truth.csv")
    controls_path = out / "controls.csv"
    if not controls_path.exists():  # builds the architectures, loads no weights
        zr.candidate_controls(truth, pd.read_csv(out / "zoo.csv")).to_csv(
            controls_path, index=False, float_format="%.4f")
    controls = pd.read_csv(controls_path)
    scores = pd.concat([scores, zr.controls_long(controls, scores["target"].unique())],
                       ignore_index=True)
    ev = zr.evaluate(scores, truth)
    ev.to_csv(out / "evaluation.csv", index=False, float_format="%.4f")
    summary = zr.summarise(ev)
    head = zr.headline(summary)
    head.to_csv(out / "summary.csv", float_format="%.4f")
    sweep = zr.sweep_table(summary)
    sweep.to_csv(out / "disco_sweep.csv", float_format="%.4f")

    # intervals, LOTO selections and the ensemble (finetune truth first)
    evaluated = zr.scoreable(scores, truth)
    ens, variants = zr.ensemble_scores(evaluated, truth)
    allscores = pd.concat([evaluated, ens], ignore_index=True)
    selection = zr.selections(evaluated, variants)
    ev_all = pd.concat([ev, zr.evaluate(ens, truth)], ignore_index=True)
    choices = zr.loto_choices(ev_all, selection)
    choices.to_csv(out / "loto_choices.csv", index=False, float_format="%.4f")
    hidden = zr.unique_variants(selection)
    summaries = {}
    for kind in zr.TRUTHS:
        s = zr.interval_summary(allscores, truth, kind, selection, n_bootstrap)
        summaries[kind] = s[~s.index.isin(hidden)]
    comparison = zr.comparisons(allscores, truth, selection, summaries["finetune"],
                                n_bootstrap)
    comparison.to_csv(out / "comparisons.csv", index=False, float_format="%.4f")
    ci = summaries["finetune"].reset_index()
    ci.insert(2, "truth", "finetune")
    ci.to_csv(out / "summary_ci.csv", index=False, float_format="%.4f")
    summaries["linear_probe"].reset_index().assign(truth="linear_probe").to_csv(
        out / "summary_ci_linear_probe.csv", index=False, float_format="%.4f")
    head_ci = zr.headline_ci(summaries["finetune"], summaries["linear_probe"],
                             comparison)
    ens_cmp = comparison[comparison["scorer_a"].str.contains("[LOTO", regex=False)
                         & ~comparison["scorer_b"].isin(zr.CONTROLS)]
    top = zr.top_scorers(summaries["finetune"])
    top_cmp = comparison[comparison["scorer_a"].isin(top)
                         & comparison["scorer_b"].isin(top)]
    loto = (choices.groupby("selection", sort=False)
            .agg(in_sample_best=("in_sample_best", "first"),
                 in_sample_mean=("in_sample_mean", "first"),
                 loto_mean=("loto_mean", "first"),
                 chosen=("chosen", lambda c: ", ".join(
                     f"{n} x{k}" for n, k in c.value_counts().items()))))
    seeds = out / "seeds_report.md"
    n_cand = truth["model"].nunique()
    lines = [
        "# Zoo benchmark tables (generated by `benchmarks/zoo/run.py`)", "",
        f"Profile: `{out.name}`. Candidates: {n_cand}; targets: "
        f"{', '.join(truth['target'].unique())}.", "",
        "## Headline: mean weighted τ over targets, 95 % bootstrap intervals", "",
        f"Intervals: {n_bootstrap} stratified bootstrap replicates (each target's "
        "candidates resampled with replacement, every row recomputed on the same "
        "replicate). Controls (kind `control`) rank candidates without target "
        "data: parameter count, feature width, source-task accuracy "
        "(`controls.csv`). `targets > best control`: targets on which the row's "
        "τ_w (fine-tuning) is above every control's; the difference to the best "
        "control (by mean) is paired, and called significant only when its "
        "interval excludes zero. Rows of kind `loto` and `ensemble` are chosen "
        "leave-one-target-out (chosen on the other targets, scored on the "
        "held-out one).", "",
        zr.fmt(head_ci), "",
        "## Leave-one-target-out selections (against fine-tuning)", "",
        "In-sample best: the setting with the best mean over all targets (what a "
        "table that tunes on its own targets reports); LOTO: the mean of the "
        "held-out values of the setting chosen on the other targets.", "",
        zr.fmt(loto), "",
        "## Ensembles and selections against their members (paired differences)",
        "",
        zr.fmt(ens_cmp.set_index("scorer_a")), "",
        "## The four best single scorers against each other (paired, common "
        "targets)", "",
        zr.fmt(top_cmp.set_index("scorer_a")), "",
        "## Weighted τ per target, against fine-tuning", "",
        zr.fmt(zr.per_target(ev, "finetune")), "",
        "## Does each scorer beat the best control on each target? (fine-tuning)",
        "",
        zr.fmt(zr.beats_control_table(ev)), "",
        "## Weighted τ per target, against the linear probe", "",
        zr.fmt(zr.per_target(ev, "linear_probe")), "",
        "## Mean over targets, every scorer (point estimates)", "",
        zr.fmt(head), "",
        "## DISCO sweep (mean τ_w over targets; best first, in-sample)", "",
        zr.fmt(sweep[["tau_w_finetune", "tau_w_linear_probe", "tau_w_mean",
                      "top1_finetune", "n_targets"]]), "",
        "## Data-free controls per candidate", "",
        zr.fmt(controls.set_index("model")), "",
        "## Ground truth (mean over targets)", "",
        zr.fmt(truth.groupby("model")[["finetune", "linear_probe"]].mean()
               .sort_values("finetune", ascending=False)), "",
    ]
    if seeds.exists():
        lines += [seeds.read_text().rstrip(), ""]
    (out / "report.md").write_text("\n".join(lines))
    log(f"table: {out / 'report.md'}")
    best = sweep.index[0]
    log(f"table: best DISCO setting {best} "
        f"(mean τ_w {sweep.loc[best, 'tau_w_mean']:.3f}, in-sample)")
    print(zr.fmt(head_ci))


def stage_figures(candidates, out, fig_dir):
    import pandas as pd
    from zoo_report import (
        checkpoint_answer,
        checkpoint_table,
        figure_checkpoints,
        figure_l2sp,
    )

    truth = pd.read_csv(out / "ground_truth.csv")
    m = checkpoint_table(truth, candidates)
    fig_dir.mkdir(parents=True, exist_ok=True)
    answers = {}
    if not m.empty:
        figure_checkpoints(m, fig_dir / "zoo_checkpoints.png")
        ans = checkpoint_answer(m)
        ans.to_csv(out / "checkpoints.csv", index=False, float_format="%.4f")
        for kind in ("finetune", "linear_probe"):
            col = f"{kind}_middle_beats_final"
            if col in ans:
                answers[f"{kind}_middle_beats_final_fraction"] = float(ans[col].mean())
                answers[f"{kind}_mean_final_minus_first"] = float(
                    ans[f"{kind}_final_minus_first"].mean())
        answers["n_run_target_pairs"] = int(ans.shape[0])
    ft = pd.read_csv(out / "finetune_runs.csv")
    sub = ft[ft["model"].isin(ft.loc[ft["regularization"] == "l2", "model"])
             & ft["target"].isin(ft.loc[ft["regularization"] == "l2", "target"])]
    if (sub["regularization"] == "l2").any():
        wide, diff = figure_l2sp(sub, fig_dir / "zoo_l2sp.png")
        wide.to_csv(out / "l2_vs_l2sp.csv", float_format="%.4f")
        answers["l2sp_minus_l2_mean"] = float(diff.mean())
        answers["l2sp_wins"] = int((diff > 0).sum())
        answers["l2_wins"] = int((diff < 0).sum())
        answers["ties"] = int((diff == 0).sum())
    (out / "questions.json").write_text(json.dumps(answers, indent=1))
    log(f"figures: {fig_dir}; answers {answers}")


# --------------------------------------------------------------------------- #
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="the quick profile (fewer candidates, targets, epochs)")
    parser.add_argument("--stage", choices=STAGES, action="append",
                        help="run only this stage (repeatable); default: all")
    parser.add_argument("--cache", type=Path, default=None,
                        help="cache folder (default benchmarks/zoo/.cache/<profile>)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results folder (default benchmarks/results/<profile>)")
    parser.add_argument("--threads", type=int, default=2,
                        help="torch and BLAS threads (default 2)")
    parser.add_argument("--jobs", type=int, default=2,
                        help="parallel workers for scoring and fine-tuning "
                             "(each then gets 1 thread); default 2")
    args = parser.parse_args(argv)
    name = "quick" if args.quick else "full"
    profile = PROFILES[name]
    cache = args.cache or HERE / ".cache" / name
    out = args.out or REPO / "benchmarks" / "results" / name
    fig_dir = REPO / "docs" / "figures" if name == "full" else out
    stages = args.stage or list(STAGES)
    if set(stages) - {"table"}:
        cache.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    set_threads(args.threads)

    candidates = targets = []
    if set(stages) - {"table"}:  # the table stage reads the results folder only
        from zoo_models import make_candidates

        candidates = make_candidates(profile)
    if set(stages) & {"features", "scores", "truth"}:
        targets = load_targets(profile)
    log(f"profile {name}: {len(candidates)} candidates, {len(targets)} targets, "
        f"stages {stages}, cache {cache}")
    timings_path = out / "timings.json"
    timings = json.loads(timings_path.read_text()) if timings_path.exists() else {}
    for stage in STAGES:
        if stage not in stages:
            continue
        t0 = time.perf_counter()
        log(f"== stage {stage}")
        if stage == "zoo":
            stage_zoo(profile, cache, out)
        elif stage == "features":
            stage_features(candidates, targets, cache)
        elif stage == "scores":
            stage_scores(candidates, targets, cache, out, args.jobs)
        elif stage == "truth":
            stage_truth(profile, candidates, targets, cache, out, args.jobs)
        elif stage == "table":
            stage_table(out)
        elif stage == "figures":
            stage_figures(candidates, out, fig_dir)
        timings[stage] = round(time.perf_counter() - t0, 1)
        log(f"== stage {stage} done in {timings[stage]:.0f}s")
        timings_path.write_text(json.dumps(timings, indent=1))
    (out / "README.md").write_text(
        f"# Zoo benchmark results, profile `{name}`\n\n"
        "Regenerate (stages are cached under `benchmarks/zoo/.cache/`):\n\n"
        f"    python benchmarks/zoo/run.py{' --quick' if name == 'quick' else ''}\n\n"
        "Files: `zoo.csv` (checkpoints, source test accuracy), `scores.csv` (every "
        "scorer, long format), `scoring_log.csv` (per-model errors and times), "
        "`ground_truth.csv` (linear probe and L2-SP fine-tuning per target and "
        "model), `finetune_runs.csv` (every fine-tuning run incl. L2), "
        "`evaluation.csv` (τ_w, Pearson, top-1 per target, truth, scorer), "
        "`summary.csv` (means over targets), `disco_sweep.csv`, `controls.csv` "
        "(data-free controls per candidate: parameter count, feature width, "
        "source-task accuracy), `summary_ci.csv` / `summary_ci_linear_probe.csv` "
        "(mean τ_w with 95 % bootstrap intervals, kind score / control / loto / "
        "ensemble, targets beating the best control), `comparisons.csv` (paired "
        "differences with intervals), `loto_choices.csv` (the setting chosen on "
        "the other targets for each held-out target), `checkpoints.csv`, "
        "`l2_vs_l2sp.csv`, `questions.json`, `report.md`, `timings.json` (seconds "
        "per stage, last run of each).\nWrite-up: `docs/zoo_benchmark.md`.\n"
    )
    log("done")


if __name__ == "__main__":
    sys.exit(main())
