"""The evidence behind "Choosing a score": page tables and the CLI's data file.

    python benchmarks/zoo/score_evidence.py            # full profile
    python benchmarks/zoo/score_evidence.py --quick

Reads the zoo benchmark's results in ``benchmarks/results/<profile>/``:

* ``summary_ci.csv`` (written by run.py's ``table`` stage): one row per
  scorer, control, leave-one-target-out selection and ensemble, with columns
  ``scorer, kind, mean_tau_w, ci_low, ci_high, n_targets,
  targets_beating_best_control`` -- mean weighted Kendall τ against fine-tuning
  over targets and its bootstrap 95 % interval;
* ``evaluation.csv`` (τ_w per target) for the classification / regression split;
* ``ground_truth.csv`` for the targets, and the profile (``run.PROFILES``) with
  the target loaders for the training images per class and the candidates'
  feature widths;
* ``truth_seeds.csv`` (the ``seeds`` stage), when present, for the noise ceiling.

Writes ``benchmarks/results/<profile>/choosing_a_score.md`` (the tables
``docs/choosing_a_score.md`` shows; a test checks the page's rows are rows of
this file) and, for the full profile, the data ``skdisco rank`` prints its
evidence line from: ``skdisco/datasets/data/score_evidence.csv`` (the rows of
``summary_ci.csv`` plus the tasks each scorer was evaluated on) and
``skdisco/datasets/data/score_evidence_targets.csv`` (what the benchmark's
targets cover: task, training images per class, feature widths), read by
:func:`skdisco.datasets.load_score_evidence`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))

from zoo_report import fmt, is_sweep  # noqa: E402

SUMMARY_CI_COLUMNS = ("scorer", "kind", "mean_tau_w", "ci_low", "ci_high",
                      "n_targets", "targets_beating_best_control")
KINDS = ("score", "control", "loto", "ensemble")
DATA = REPO / "skdisco" / "datasets" / "data"


def read_summary_ci(path):
    """``summary_ci.csv``, checked against its schema."""
    table = pd.read_csv(path)
    missing = [c for c in SUMMARY_CI_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{path} lacks the columns {missing}.")
    unknown = sorted(set(table["kind"]) - set(KINDS))
    if unknown:
        raise ValueError(f"{path}: unknown kind(s) {unknown}; kinds are {KINDS}.")
    if table["scorer"].duplicated().any():
        raise ValueError(f"{path}: a scorer appears twice.")
    return table[list(SUMMARY_CI_COLUMNS)]


def summary_without_intervals(summary):
    """``summary_ci.csv``'s rows from ``summary.csv``: no intervals, no controls.

    For a results folder whose table stage predates ``summary_ci.csv``
    (``--without-intervals``): every scorer is a ``score`` row with its mean τ_w
    against fine-tuning; intervals and control comparisons are NaN, and the
    page and the CLI say they are missing.
    """
    table = pd.DataFrame({
        "scorer": summary["scorer"], "kind": "score",
        "mean_tau_w": summary["tau_w_finetune"], "ci_low": np.nan,
        "ci_high": np.nan, "n_targets": summary["n_targets"],
        "targets_beating_best_control": np.nan,
    })
    return table[list(SUMMARY_CI_COLUMNS)]


def scorer_tasks(evaluation):
    """Per scorer, the tasks of the targets it was evaluated on (``a+b``)."""
    ev = evaluation[evaluation["truth"] == "finetune"]
    return ev.groupby("scorer")["task"].agg(
        lambda t: "+".join(sorted(set(t))))


def task_table(evaluation):
    """Mean τ_w against fine-tuning per scorer and task (targets per task).

    The DISCO sweep's variants are left out (``disco`` is its default).
    """
    ev = evaluation[(evaluation["truth"] == "finetune")
                    & ~evaluation["scorer"].map(is_sweep)]
    mean = ev.pivot_table(index="scorer", columns="task",
                          values="weighted_kendall_tau", aggfunc="mean")
    count = ev.pivot_table(index="scorer", columns="task", values="target",
                           aggfunc="nunique")
    out = pd.DataFrame(index=mean.index)
    for task in mean.columns:
        n = int(count[task].max())
        out[f"{task} ({n} target{'s' if n > 1 else ''})"] = mean[task]
    return out.sort_values(out.columns[0], ascending=False)


def with_tasks(evaluation, truth):
    task = truth.drop_duplicates("target").set_index("target")["task"]
    ev = evaluation.copy()
    ev["task"] = ev["target"].map(task)
    return ev


def target_coverage(profile):
    """Per target: task, training images, classes, images per class, widths."""
    from run import load_targets
    from zoo_models import create, make_candidates

    widths = []
    for arch in sorted({c.arch for c in make_candidates(profile)}):
        model = create(arch)
        widths.append(int(getattr(model, "head_hidden_size", model.num_features)))
    rows = []
    for target in load_targets(profile):
        row = {"target": target.name, "task": target.task,
               "n_train": int(target.y_train.shape[0])}
        if target.task == "classification":
            counts = np.unique(target.y_train, return_counts=True)[1]
            row.update(n_classes=int(counts.shape[0]),
                       samples_per_class_min=int(counts.min()),
                       samples_per_class_max=int(counts.max()))
        row.update(feature_width_min=min(widths), feature_width_max=max(widths))
        rows.append(row)
    cov = pd.DataFrame(rows)
    for col in ("n_classes", "samples_per_class_min", "samples_per_class_max"):
        cov[col] = cov[col].astype("Int64")
    return cov


def architecture_table(truth):
    """Per architecture: its best pre-trained candidate against its random init.

    Mean over targets of the fine-tuned score and of the linear probe (accuracy;
    R² on the regression target), the pre-trained candidate chosen by its
    fine-tuned mean; sorted by the best fine-tuned mean, pre-trained or not.
    """
    mean = truth.groupby(["arch", "kind", "model"], as_index=False)[
        ["finetune", "linear_probe"]].mean()
    rows = []
    for arch, g in mean.groupby("arch"):
        pre = g[g["kind"] != "random"].sort_values("finetune", ascending=False)
        rnd = g[g["kind"] == "random"]
        row = {"architecture": arch}
        if not pre.empty:
            best = pre.iloc[0]
            row.update({"best pre-trained": best["model"],
                        "its fine-tuned": best["finetune"],
                        "its linear probe": best["linear_probe"]})
        if not rnd.empty:
            row.update({"random init fine-tuned": rnd["finetune"].iloc[0],
                        "random init linear probe": rnd["linear_probe"].iloc[0]})
        rows.append(row)
    table = pd.DataFrame(rows).set_index("architecture")
    order = table[["its fine-tuned", "random init fine-tuned"]].max(axis=1)
    return table.loc[order.sort_values(ascending=False).index].astype(object).fillna("")


def interval(row):
    if not (np.isfinite(row.ci_low) and np.isfinite(row.ci_high)):
        return f"{row.mean_tau_w:.3f}"
    return f"{row.mean_tau_w:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}]"


def headline_table(summary):
    """The page's headline: every row with its interval, best first per kind."""
    rows = []
    for kind in KINDS:
        block = summary[summary["kind"] == kind].sort_values(
            "mean_tau_w", ascending=False)
        for r in block.itertuples():
            beats = r.targets_beating_best_control
            rows.append({
                "scorer": r.scorer, "kind": kind,
                "mean τ_w [95 % interval]": interval(r),
                "targets": int(r.n_targets),
                "targets beating the best control": (
                    "" if kind == "control" or not np.isfinite(beats)
                    else f"{int(beats)} of {int(r.n_targets)}"),
            })
    return pd.DataFrame(rows).set_index("scorer")


def write(profile_name, out, summary, evaluation, truth, coverage, seeds=None):
    """``choosing_a_score.md`` of a profile; returns its text."""
    from zoo_seeds import noise_ceiling

    ev = with_tasks(evaluation, truth)
    lines = [
        "# Evidence for choosing a score (generated by "
        "`benchmarks/zoo/score_evidence.py`)", "",
        f"Profile `{profile_name}`: {truth['model'].nunique()} candidates, "
        f"{truth['target'].nunique()} targets; τ_w: weighted Kendall τ "
        "against fine-tuning (L2-SP).", "",
        "## Every score and control, mean τ_w over targets", "",
        *([] if summary["ci_low"].notna().any() else [
            "No intervals and no controls in this run (built from "
            "`summary.csv`, `--without-intervals`).", ""]),
        fmt(headline_table(summary)), "",
        "## Mean τ_w by task", "",
        fmt(task_table(ev)), "",
        "## Architecture against pre-training, under fine-tuning", "",
        "Mean over targets (accuracy; R² on a regression target) of each "
        "architecture's best pre-trained candidate and of its random "
        "initialisation.", "",
        fmt(architecture_table(truth)), "",
        "## What the targets cover", "",
        fmt(coverage.set_index("target").astype(object).fillna("")), "",
    ]
    if seeds is not None:
        lines += ["## Seed-to-seed noise ceiling of the fine-tuning truth", "",
                  fmt(noise_ceiling(seeds)), ""]
    text = "\n".join(lines)
    (out / "choosing_a_score.md").write_text(text)
    return text


def shipped_evidence(summary, evaluation, truth):
    """The rows of ``score_evidence.csv``: summary_ci + what each task shows.

    Adds ``tasks`` (the tasks of the targets a scorer was evaluated on) and
    ``mean_tau_w_classification`` / ``mean_tau_w_regression`` (its mean τ_w
    over the targets of that task, from ``evaluation.csv``; NaN where it was
    not evaluated on one), so a situation compares scorers on the same
    targets: a classification-only scorer's mean over five targets is not
    comparable with another's over six that include the regression target.
    """
    ev = with_tasks(evaluation, truth)
    tasks = scorer_tasks(ev)
    ev = ev[ev["truth"] == "finetune"]
    by_task = ev.pivot_table(index="scorer", columns="task",
                             values="weighted_kendall_tau", aggfunc="mean")
    table = summary.copy()
    table["tasks"] = table["scorer"].map(tasks)
    # controls, LOTO selections and ensembles that evaluation.csv does not
    # hold rank whatever task the targets have
    every = "+".join(sorted(set(truth["task"])))
    table["tasks"] = table["tasks"].fillna(every)
    for task in ("classification", "regression"):
        col = by_task[task] if task in by_task else pd.Series(dtype=float)
        table[f"mean_tau_w_{task}"] = table["scorer"].map(col)
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the quick profile")
    parser.add_argument("--results", type=Path, default=None,
                        help="results folder (default benchmarks/results/<profile>)")
    parser.add_argument("--data", type=Path, default=DATA,
                        help="where the full profile's shipped data goes")
    parser.add_argument("--without-intervals", action="store_true",
                        help="read summary.csv instead of summary_ci.csv (no "
                             "intervals, no controls): results whose table "
                             "stage predates summary_ci.csv")
    args = parser.parse_args(argv)
    from run import PROFILES

    name = "quick" if args.quick else "full"
    out = args.results or REPO / "benchmarks" / "results" / name
    if args.without_intervals:
        summary = summary_without_intervals(pd.read_csv(out / "summary.csv"))
    else:
        summary = read_summary_ci(out / "summary_ci.csv")
    # the DISCO sweep's variants: its own table (disco_sweep.csv), not a choice
    summary = summary[~summary["scorer"].map(is_sweep)]
    evaluation = pd.read_csv(out / "evaluation.csv")
    truth = pd.read_csv(out / "ground_truth.csv")
    coverage = target_coverage(PROFILES[name])
    seeds_path = out / "truth_seeds.csv"
    seeds = pd.read_csv(seeds_path) if seeds_path.exists() else None
    text = write(name, out, summary, evaluation, truth, coverage, seeds)
    print(text)
    if name == "full":
        args.data.mkdir(parents=True, exist_ok=True)
        shipped_evidence(summary, evaluation, truth).to_csv(
            args.data / "score_evidence.csv", index=False, float_format="%.4f")
        coverage.to_csv(args.data / "score_evidence_targets.csv", index=False)
        print(f"evidence data written to {args.data}")


if __name__ == "__main__":
    sys.exit(main())
