"""Tables and figures of the zoo benchmark, from the CSVs of the earlier stages."""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent

TRUTHS = ("finetune", "linear_probe")

#: Data-free controls: rankings of the candidates that look at no target data
#: (higher is predicted better). ``controls.csv`` in the results folder holds them.
CONTROLS = ("n_params", "feature_dim", "source_accuracy")

#: Members the ensemble may combine: the three scorers the issue names a priori,
#: and a wider pool of the strongest classification scorers of earlier runs.
ENSEMBLE_POOLS = {
    "ensemble[logme,knn,ncti]": ("logme", "knn_probe", "ncti"),
    "ensemble[6 scorers]": ("logme", "knn_probe", "ncti", "etran", "linear_probe",
                            "nleep"),
}
ENSEMBLE_METHODS = ("mean_rank", "mean_zscore")

#: Scorers defined for real-valued targets. The others are classification-only;
#: PACTran's three variants return numbers for a real-valued y (each distinct
#: value taken as a class), which are meaningless and left out.
REGRESSION_SCORERS = ("logme", "disco")


def supports_regression(scorer):
    return scorer in REGRESSION_SCORERS or is_sweep(scorer) or scorer in CONTROLS


# --------------------------------------------------------------------------- #
# data-free controls
# --------------------------------------------------------------------------- #
def candidate_controls(truth, zoo):
    """Per candidate: parameter count, feature width and source-task accuracy.

    ``n_params``: parameters of the network without its source classifier (what
    is transferred); ``feature_dim``: width of the pre-logits features; both
    from the architecture built as the zoo builds it (``zoo_models.create``, no
    weights needed). ``source_accuracy`` (a fraction): each zoo checkpoint's own
    test accuracy on its source task (``zoo.csv``); for the EfficientNet-Lite
    references their published ImageNet top-1 (``lite_imagenet.csv``, cited
    there); for a random initialisation the chance accuracy of its untrained
    source head (1/10 for the zoo's 10-class heads, 1/1000 for an ImageNet
    head): an untrained model has learned no source task, and a data-free
    ranking knows that much.
    """
    import torch
    from zoo_models import create

    cands = truth.drop_duplicates("model").set_index("model")
    lite = pd.read_csv(HERE / "lite_imagenet.csv", comment="#").set_index("model")
    zoo = zoo.set_index(["run", "epoch"])["source_test_accuracy"]
    size = {}
    for arch in cands["arch"].unique():
        model = create(arch).eval()
        n_classes = model.num_classes
        model.reset_classifier(0)
        with torch.no_grad():
            width = model(torch.zeros(2, 3, 32, 32)).shape[1]
        n_params = sum(p.numel() for p in model.parameters())
        size[arch] = (n_params, width, n_classes)
    rows = []
    for name, c in cands.iterrows():
        n_params, width, n_classes = size[c["arch"]]
        if c["kind"] == "zoo":
            acc = float(zoo.loc[(f"{c['arch']}@{c['source']}", int(c["epoch"]))])
            note = "source test accuracy (zoo.csv)"
        elif c["kind"] == "imagenet":
            acc = float(lite.loc[name, "imagenet_top1"]) / 100.0
            note = "ImageNet top-1, published (lite_imagenet.csv)"
        else:
            acc = 1.0 / n_classes
            note = f"chance of an untrained {n_classes}-class head"
        rows.append({"model": name, "n_params": n_params, "feature_dim": width,
                     "source_accuracy": acc, "source_accuracy_from": note})
    return pd.DataFrame(rows)


def controls_long(controls, targets):
    """The controls as rows of the long scores table, on every target."""
    melted = controls.melt(id_vars="model", value_vars=list(CONTROLS),
                           var_name="scorer", value_name="score")
    return pd.DataFrame({"target": list(targets)}).merge(melted, how="cross")[
        ["target", "model", "scorer", "score"]
    ]


def _evaluate_one(ranking, truth, scorer):
    """One row of measures; top-1 is NaN where the truth is not positive (R^2)."""
    from skdisco.selection import (
        evaluate_ranking,
        pearson_correlation,
        weighted_kendall_tau,
    )

    try:
        row = evaluate_ranking(ranking, truth, scorers=[scorer], k=1).iloc[0]
        return {
            "weighted_kendall_tau": row["weighted_kendall_tau"],
            "pearson": row["pearson"],
            "top1_relative_accuracy": row["top1_relative_accuracy"],
            "n_models": int(row["n_models"]),
        }
    except ValueError:
        s = pd.to_numeric(ranking.set_index("model")[scorer], errors="coerce")
        common = [m for m in s.index if m in truth.index]
        s, t = s.loc[common].to_numpy(float), truth.loc[common].to_numpy(float)
        keep = np.isfinite(s) & np.isfinite(t)
        if keep.sum() < 2:
            return None
        return {
            "weighted_kendall_tau": weighted_kendall_tau(s[keep], t[keep]),
            "pearson": pearson_correlation(s[keep], t[keep]),
            "top1_relative_accuracy": np.nan,
            "n_models": int(keep.sum()),
        }


def kind_of(scorer):
    return "control" if scorer in CONTROLS else "score"


def evaluate(scores, truth):
    """Long table: target, truth, scorer, kind, weighted τ, Pearson, top-1, n."""
    rows = []
    for target, block in scores.groupby("target", sort=False):
        wide = block.pivot(index="model", columns="scorer", values="score")
        ranks = wide.rank(ascending=False).add_suffix("_rank")
        ranking = pd.concat([wide, ranks], axis=1).reset_index()
        gt = truth[truth["target"] == target].set_index("model")
        if (gt["task"] == "regression").any():
            wide = wide[[c for c in wide.columns if supports_regression(c)]]
        for kind in TRUTHS:
            t = pd.to_numeric(gt[kind], errors="coerce").dropna()
            if t.shape[0] < 2:
                continue
            for scorer in wide.columns:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    row = _evaluate_one(ranking, t, scorer)
                if row is not None:
                    rows.append({"target": target, "truth": kind, "scorer": scorer,
                                 "kind": kind_of(scorer), **row})
    return pd.DataFrame.from_records(rows)


def summarise(evaluation):
    """Mean of each measure over targets, per scorer and truth (wide)."""
    agg = evaluation.groupby(["scorer", "truth"]).agg(
        tau_w=("weighted_kendall_tau", "mean"),
        pearson=("pearson", "mean"),
        top1=("top1_relative_accuracy", "mean"),
        n_targets=("target", "nunique"),
    )
    wide = agg.unstack("truth")
    wide.columns = [f"{m}_{t}" for m, t in wide.columns]
    wide["n_targets"] = wide[[c for c in wide.columns if c.startswith("n_targets")]
                             ].max(axis=1)
    wide = wide.drop(columns=[c for c in wide.columns
                              if c.startswith("n_targets_")])
    wide["n_targets"] = wide["n_targets"].astype(int)
    wide.insert(0, "kind", [kind_of(s) for s in wide.index])
    return wide


# --------------------------------------------------------------------------- #
# intervals, leave-one-target-out selection, the ensemble
# --------------------------------------------------------------------------- #
def scoreable(scores, truth):
    """The scores rows that are evaluated: no classification-only scorer on a
    regression target (as in :func:`evaluate`)."""
    regression = set(truth.loc[truth["task"] == "regression", "target"])
    keep = ~scores["target"].isin(regression) | scores["scorer"].map(
        supports_regression)
    return scores[keep]


def ensemble_scores(scores, truth):
    """Long rows of every rank-aggregation variant, on classification targets.

    Variants: every subset of two or more members of each pool of
    :data:`ENSEMBLE_POOLS`, aggregated by each method of
    :data:`ENSEMBLE_METHODS` (``skdisco.selection.rank_aggregate``). Returns the
    rows and ``{pool: [variant, ...]}``.
    """
    from skdisco.selection import rank_aggregate

    classification = set(truth.loc[truth["task"] == "classification", "target"])
    variants = {}
    for pool_name, pool in ENSEMBLE_POOLS.items():
        names = []
        for r in range(2, len(pool) + 1):
            for members in itertools.combinations(pool, r):
                for method in ENSEMBLE_METHODS:
                    names.append((f"{method}({'+'.join(members)})", members, method))
        variants[pool_name] = names
    unique = {name: (members, method) for v in variants.values()
              for name, members, method in v}
    rows = []
    for target, block in scores[scores["target"].isin(classification)].groupby(
            "target", sort=False):
        wide = block.pivot(index="model", columns="scorer", values="score")
        ranking = wide.reset_index()
        for name, (members, method) in unique.items():
            out = rank_aggregate(ranking, list(members), method=method, name=name)
            rows.append(pd.DataFrame({"target": target, "model": out["model"],
                                      "scorer": name, "score": out[name]}))
    return (pd.concat(rows, ignore_index=True),
            {k: [n for n, _, _ in v] for k, v in variants.items()})


def selections(scores, ensemble_variants):
    """``{row: [settings]}``: every benchmark-chosen default, chosen LOTO."""
    names = list(dict.fromkeys(scores["scorer"]))
    singles = [n for n in names if not is_sweep(n) and n not in CONTROLS]
    # A sweep setting scored on fewer targets than DISCO's default (settings
    # added later and computed for the regression target only) cannot be
    # compared on the same targets: it joins the selection once a full run
    # has scored it everywhere.
    n_targets = scores.dropna(subset=["score"]).groupby("scorer")["target"].nunique()
    complete = n_targets.get("disco", n_targets.max())
    out = {
        "disco [LOTO over the sweep]": [
            n for n in names
            if (is_sweep(n) or n == "disco") and n_targets.get(n, 0) >= complete
        ],
        "single scorer [LOTO]": singles,
    }
    for pool_name, variants in ensemble_variants.items():
        out[f"{pool_name} [LOTO]"] = variants
    return out


def row_kind(name):
    if name.startswith("ensemble["):
        return "ensemble"
    if "[LOTO" in name:
        return "loto"
    return kind_of(name)


def loto_choices(evaluation_all, selection, truth="finetune"):
    """Per selection and held-out target: the chosen setting and its τ_w."""
    from skdisco.selection import leave_one_target_out

    ev = evaluation_all[evaluation_all["truth"] == truth]
    values = ev.pivot(index="scorer", columns="target",
                      values="weighted_kendall_tau")
    rows = []
    for name, settings in selection.items():
        res = leave_one_target_out(values.loc[[s for s in settings
                                               if s in values.index]])
        for target, r in res.choices.iterrows():
            rows.append({"selection": name, "target": target, "chosen": r["chosen"],
                         "held_out_tau_w": r["held_out"],
                         "in_sample_best": res.in_sample_best,
                         "in_sample_mean": res.in_sample_mean,
                         "loto_mean": res.mean})
    return pd.DataFrame(rows)


def interval_summary(scores, truth, kind, selection, n_bootstrap, seed=0):
    """``summarize_evaluation`` of every row against one truth, kinds relabelled."""
    from skdisco.selection import summarize_evaluation

    gt = truth[["target", "model", kind]]
    out = summarize_evaluation(scores, gt, truth=kind, controls=list(CONTROLS),
                               selections=selection, n_bootstrap=n_bootstrap,
                               random_state=seed)
    out["kind"] = [row_kind(n) for n in out.index]
    return out


def comparisons(scores, truth, selection, summary, n_bootstrap, seed=0):
    """Paired differences: every headline row against the best control, and
    each ensemble against its members and the LOTO single scorer."""
    from skdisco.selection import compare_scorers

    controls = summary[summary["kind"] == "control"]
    best_control = controls["mean_tau_w"].idxmax()
    heads = [n for n in summary.index if not is_sweep(n) and n not in unique_variants(
        selection) and n != best_control]
    pairs = [(n, best_control) for n in heads]
    for pool_name, pool in ENSEMBLE_POOLS.items():
        row = f"{pool_name} [LOTO]"
        pairs += [(row, m) for m in pool] + [(row, "single scorer [LOTO]")]
    pairs.append(("disco [LOTO over the sweep]", "disco"))
    pairs += list(itertools.combinations(top_scorers(summary), 2))
    gt = truth[["target", "model", "finetune"]]
    return compare_scorers(scores, gt, pairs=pairs, truth="finetune",
                           controls=list(CONTROLS), selections=selection,
                           n_bootstrap=n_bootstrap, random_state=seed)


def top_scorers(summary, n=4):
    """The ``n`` single scorers with the best mean τ_w (kind ``score``)."""
    rows = summary[(summary["kind"] == "score") & ~summary.index.map(is_sweep)]
    return list(rows.sort_values("mean_tau_w", ascending=False).index[:n])


def unique_variants(selection):
    return {v for k, vs in selection.items() if k.startswith("ensemble[")
            for v in vs}


def ci(mean, low, high, digits=3):
    if not np.isfinite(mean):
        return ""
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def headline_ci(summary_ft, summary_lp, comparison):
    """The headline: mean τ_w with 95 % intervals, controls, LOTO and ensembles."""
    rows = []
    best_control = summary_ft.loc[summary_ft["kind"] == "control",
                                  "mean_tau_w"].idxmax()
    for name, r in summary_ft.iterrows():
        if is_sweep(name):
            continue
        lp = summary_lp.loc[name] if name in summary_lp.index else None
        row = {
            "scorer": name,
            "kind": r["kind"],
            "tau_w finetune [95% CI]": ci(r["mean_tau_w"], r["ci_low"], r["ci_high"]),
            "tau_w linear probe [95% CI]": (
                ci(lp["mean_tau_w"], lp["ci_low"], lp["ci_high"])
                if lp is not None else ""),
            "n_targets": int(r["n_targets"]),
            "targets > best control": (
                "" if pd.isna(r.get("targets_beating_best_control"))
                else f"{int(r['targets_beating_best_control'])}/{int(r['n_targets'])}"),
        }
        match = comparison[(comparison["scorer_a"] == name)
                           & (comparison["scorer_b"] == best_control)]
        if not match.empty:
            m = match.iloc[0]
            row[f"minus {best_control} [95% CI]"] = ci(
                m["mean_difference"], m["ci_low"], m["ci_high"])
            row["significant"] = "yes" if m["significant"] else "no"
        else:
            row[f"minus {best_control} [95% CI]"] = ""
            row["significant"] = ""
        rows.append(row)
    return pd.DataFrame(rows).set_index("scorer")


def beats_control_table(evaluation, truth="finetune"):
    """Per target: does each scorer's τ_w beat the best control's? (yes / no)."""
    keep = (evaluation["truth"] == truth) & ~evaluation["scorer"].map(is_sweep)
    ev = evaluation[keep]
    tau = ev.pivot(index="scorer", columns="target", values="weighted_kendall_tau")
    best = tau.loc[[c for c in CONTROLS if c in tau.index]].max(axis=0)
    scorers = [s for s in tau.index if s not in CONTROLS]
    out = tau.loc[scorers].gt(best, axis=1).where(tau.loc[scorers].notna())
    out = out.map(lambda v: "" if pd.isna(v) else ("yes" if v else "no"))
    best_name = tau.loc[[c for c in CONTROLS if c in tau.index]].idxmax(axis=0)
    out.loc["(best control)"] = [f"{n} {best[t]:.3f}" for t, n in best_name.items()]
    return out


def is_sweep(name):
    return name.startswith("disco[")


def headline(summary):
    main = summary[[not is_sweep(s) for s in summary.index]]
    return main.sort_values("tau_w_finetune", ascending=False)


def sweep_table(summary):
    sw = summary[[is_sweep(s) or s == "disco" for s in summary.index]].copy()
    sw["tau_w_mean"] = sw[["tau_w_finetune", "tau_w_linear_probe"]].mean(axis=1)
    return sw.sort_values("tau_w_mean", ascending=False)


def per_target(evaluation, truth="finetune", measure="weighted_kendall_tau"):
    keep = (evaluation["truth"] == truth) & ~evaluation["scorer"].map(is_sweep)
    ev = evaluation[keep]
    return ev.pivot(index="scorer", columns="target", values=measure)


def fmt(df, digits=3):
    """A DataFrame as a GitHub Markdown table."""
    cols = [df.index.name or ""] + [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for idx, row in df.iterrows():
        cells = [str(idx)]
        for v in row:
            if isinstance(v, (float, np.floating)):
                cells.append("" if not np.isfinite(v) else f"{v:.{digits}f}")
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- #
# the two questions
# --------------------------------------------------------------------------- #
def checkpoint_table(truth, candidates):
    """Mean LP / FT score over classification targets per zoo checkpoint."""
    meta = pd.DataFrame(
        [{"model": c.name, "run": c.run, "epoch": c.epoch, "final": c.final_epoch}
         for c in candidates if c.kind == "zoo"]
    )
    runs_with_several = meta.groupby("run")["epoch"].nunique()
    meta = meta[meta["run"].isin(runs_with_several[runs_with_several > 1].index)]
    cls = truth[truth["task"] == "classification"]
    m = cls.drop(columns=["epoch"], errors="ignore").merge(meta, on="model")
    return m


def checkpoint_answer(m):
    """Per (run, target): is a middle checkpoint best, for LP and for FT?"""
    out = []
    for (run, target), g in m.groupby(["run", "target"]):
        g = g.sort_values("epoch")
        final = g[g["epoch"] == g["final"]]
        if final.empty:
            continue
        row = {"run": run, "target": target}
        for kind in TRUTHS:
            vals = g.set_index("epoch")[kind]
            if vals.isna().all():
                continue
            best_epoch = int(vals.idxmax())
            row[f"{kind}_best_epoch"] = best_epoch
            row[f"{kind}_middle_beats_final"] = bool(
                vals.drop(index=final["epoch"].iloc[0]).max()
                > vals.loc[final["epoch"].iloc[0]]
            )
            row[f"{kind}_final_minus_first"] = float(
                vals.loc[final["epoch"].iloc[0]] - vals.iloc[0]
            )
        out.append(row)
    return pd.DataFrame(out)


def figure_checkpoints(m, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=False)
    mean = m.groupby(["run", "epoch"])[list(TRUTHS)].mean().reset_index()
    for ax, kind, title in zip(
        axes, TRUTHS, ("Fine-tuned (L2-SP)", "Linear probe on frozen features")
    ):
        for run, g in mean.groupby("run"):
            style = "-" if "@mnist" in run else "--"
            ax.plot(g["epoch"], g[kind], style, marker="o", label=run)
        ax.set_xlabel("pre-training epoch of the checkpoint")
        ax.set_ylabel("mean test accuracy over classification targets")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7, ncol=1, loc="best")
    fig.suptitle("Checkpoints of the same run as candidates "
                 "(solid: MNIST source, dashed: other sources)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def figure_l2sp(ft, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    wide = ft.pivot_table(index=["target", "model"], columns="regularization",
                          values="score").dropna()
    fig, ax = plt.subplots(figsize=(5, 5))
    for target, g in wide.groupby(level="target"):
        ax.scatter(g["l2"], g["l2-sp"], label=target, s=25)
    lo = float(np.nanmin(wide.to_numpy()))
    hi = float(np.nanmax(wide.to_numpy()))
    ax.plot([lo, hi], [lo, hi], "k:", lw=1)
    ax.set_xlabel("test accuracy, L2 (alpha=0.01)")
    ax.set_ylabel("test accuracy, L2-SP (alpha=0.01)")
    ax.set_title("L2-SP vs L2 fine-tuning (above the line: L2-SP wins)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    diff = wide["l2-sp"] - wide["l2"]
    return wide, diff
