"""Tables and figures of the zoo benchmark, from the CSVs of the earlier stages."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

TRUTHS = ("finetune", "linear_probe")

#: Scorers defined for real-valued targets. The others are classification-only;
#: PACTran's three variants return numbers for a real-valued y (each distinct
#: value taken as a class), which are meaningless and left out.
REGRESSION_SCORERS = ("logme", "disco")


def supports_regression(scorer):
    return scorer in REGRESSION_SCORERS or is_sweep(scorer)


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


def evaluate(scores, truth):
    """Long table: target, truth, scorer, weighted τ, Pearson, top-1, n_models."""
    rows = []
    for target, block in scores.groupby("target", sort=False):
        wide = block.pivot(index="model", columns="scorer", values="score")
        ranking = wide.reset_index()
        for col in wide.columns:
            ranking[f"{col}_rank"] = wide[col].rank(ascending=False).to_numpy()
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
                    rows.append({"target": target, "truth": kind,
                                 "scorer": scorer, **row})
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
    return wide


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
