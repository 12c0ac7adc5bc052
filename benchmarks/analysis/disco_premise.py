"""DISCO's premise on the offline zoo: evidence for ``docs/analysis/disco_premise.md``.

DISCO (Zhang et al., AAAI 2025) rests on two claims, tested here on the zoo of
``benchmarks/zoo`` (full profile: its pre-trained checkpoints, the offline
EfficientNet-Lite ImageNet references, random controls, real targets):

(a) **Large-σ components change less under fine-tuning.** Final-epoch MNIST
    checkpoints of four architectures and Lite0 are fine-tuned on three
    targets with the zoo's own protocol (``zoo_stages.FINETUNE``, L2-SP, the
    full profile's 4 epochs, 1 000 training images); the pre-logits features
    of the same test images before and after are compared with
    :func:`skdisco.analysis.spectral_shift` (4 groups of the pre-trained
    spectrum, principal split at 80 % of the σ mass).
(b) **The principal band's task score predicts fine-tuned accuracy better
    than the residual's.** For every candidate of the full profile and four
    targets, :func:`skdisco.analysis.component_transferability` on the
    training features (``bands="principal"``, and 4 equal bands), against the
    fine-tuning ground truth ``benchmarks/results/full/ground_truth.csv`` with
    the weighted Kendall τ.

Run (about 10-15 min on 2 cores; everything cached under ``--cache``)::

    python benchmarks/analysis/disco_premise.py

Writes ``benchmarks/results/analysis/disco_premise_{shift,bands,tau}.csv``,
the Markdown tables of the page ``benchmarks/results/analysis/disco_premise.md``
and the figures ``docs/figures/analysis/disco_premise_{shift,tau}.png``.
Nothing downloads; the zoo's checkpoints are read from ``--zoo-cache``.
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
sys.path.insert(0, str(REPO / "benchmarks" / "zoo"))
sys.path.insert(0, str(REPO))

SHIFT_MODELS = (
    "test_convnext@mnist-e6",
    "mobilenetv3_small_050@mnist-e6",
    "resnet10t@mnist-e6",
    "test_vit@mnist-e6",
    "lite0@imagenet",
)
SHIFT_TARGETS = ("digits", "fashion", "ising_phase")
BAND_TARGETS = ("digits", "fashion", "ising_phase", "ising_temperature")
N_GROUPS = 4
THRESHOLD = 0.8
FINETUNE_EPOCHS = 4  # the full profile's


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pre_logits(module, X, cand, batch=250):
    """timm's pre-logits features ``forward_head(pre_logits=True)`` of images."""
    import torch
    from zoo_models import to_tensor

    module.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, X.shape[0], batch):
            x = to_tensor(X[i : i + batch], cand.mean, cand.std)
            out.append(
                module.forward_head(module.forward_features(x), pre_logits=True)
                .double()
                .numpy()
            )
    return np.concatenate(out)


def finetuned_features(cand, target, zoo_cache, cache):
    """``(before, after, test accuracy)`` on the target's test images, cached."""
    path = Path(cache) / "shift" / target.name / f"{cand.name}.npz"
    if path.exists():
        with np.load(path) as z:
            return z["before"], z["after"], float(z["score"])
    from zoo_models import Preprocess, load_candidate
    from zoo_stages import FINETUNE

    from skdisco.finetune import FineTuneClassifier

    before = pre_logits(load_candidate(cand, zoo_cache), target.X_test, cand)
    est = FineTuneClassifier(
        load_candidate(cand, zoo_cache),
        regularization="l2-sp",
        max_epochs=FINETUNE_EPOCHS,
        preprocessing=Preprocess(cand.mean, cand.std),
        **FINETUNE,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(target.X_train, target.y_train)
        score = float(est.score(target.X_test, target.y_test))
    after = pre_logits(est.model_.backbone, target.X_test, cand)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, before=before, after=after, score=score)
    return before, after, score


def part_a(candidates, zoo_cache, cache, truth):
    from scipy.stats import spearmanr
    from zoo_data import load_target

    from skdisco.analysis import spectral_shift

    by_name = {c.name: c for c in candidates}
    rows, summary, examples = [], [], {}
    for tname in SHIFT_TARGETS:
        target = load_target(tname, n_train=1000, n_test=1000, seed=0)
        for mname in SHIFT_MODELS:
            cand = by_name[mname]
            log(f"(a) fine-tune {mname} on {tname}")
            before, after, score = finetuned_features(cand, target, zoo_cache, cache)
            shift = spectral_shift(
                before, after, n_groups=N_GROUPS, threshold=THRESHOLD
            )
            g = shift.groups.assign(target=tname, model=mname)
            rows.append(g)
            examples[(mname, tname)] = shift
            delta = g["relative_change"].to_numpy()
            ref = truth.get((tname, mname), np.nan)
            summary.append(
                {
                    "target": tname,
                    "model": mname,
                    "finetune_acc": score,
                    "ground_truth_acc": ref,
                    "n_features": before.shape[1],
                    "n_principal": shift.n_components,
                    "principal_change": shift.principal_change,
                    "residual_change": shift.residual_change,
                    "spearman_group_vs_change": float(
                        spearmanr(np.arange(delta.size), delta).statistic
                    ),
                    "principal_mass_before": shift.principal_mass_before,
                    "principal_mass_after": shift.principal_mass_after,
                    "max_angle_deg": float(np.degrees(shift.max_angle)),
                    "mean_angle_deg": float(
                        np.degrees(shift.principal_angles.mean())
                    ),
                }
            )
    return pd.concat(rows, ignore_index=True), pd.DataFrame(summary), examples


def part_b(candidates, zoo_cache, cache, truth_frame):
    from zoo_data import load_target
    from zoo_stages import load_features

    from skdisco.analysis import component_transferability
    from skdisco.selection import weighted_kendall_tau

    rows = []
    for tname in BAND_TARGETS:
        target = load_target(tname, n_train=1000, n_test=1000, seed=0)
        for cand in candidates:
            log(f"(b) features {cand.name} on {tname}")
            _extract(cand, target, zoo_cache, cache)
            F, _, _, _ = load_features(cache, target, cand)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                split = component_transferability(
                    F, target.y_train, bands="principal", threshold=THRESHOLD,
                    task=target.task,
                )
                four = component_transferability(
                    F, target.y_train, n_groups=N_GROUPS, threshold=THRESHOLD,
                    task=target.task,
                )
            row = {
                "target": tname,
                "model": cand.name,
                "n_principal": int(split["n_components"].iloc[0]),
                "rank": int(split["last_component"].iloc[-1]) + 1,
                "principal_score": float(split["score"].iloc[0]),
                "residual_score": float(split["score"].iloc[-1])
                if len(split) > 1 else np.nan,
                "disco_principal_split": float(split["contribution"].sum()),
                "disco_4_bands": float(four["contribution"].sum()),
            }
            for b, s in zip(four["band"], four["score"]):
                row[f"band{b}_score"] = float(s)
            rows.append(row)
    bands = pd.DataFrame(rows).merge(
        truth_frame[["target", "model", "finetune"]], on=["target", "model"]
    )
    measures = ["principal_score", "residual_score"] + [
        f"band{b}_score" for b in range(N_GROUPS)
    ] + ["disco_principal_split", "disco_4_bands"]
    taus = []
    for tname, g in bands.groupby("target", sort=False):
        row = {"target": tname, "n_models": len(g)}
        for m in measures:
            ok = g[m].notna()
            row[m] = float(weighted_kendall_tau(g.loc[ok, m], g.loc[ok, "finetune"]))
        taus.append(row)
    return bands, pd.DataFrame(taus)


def _extract(cand, target, zoo_cache, cache):
    """zoo_stages.extract into our cache, the checkpoints read from the zoo's.

    ``<cache>/zoo`` is a symbolic link to the shared (read-only) zoo; only
    ``<cache>/features`` is written.
    """
    from zoo_stages import extract

    link = Path(cache) / "zoo"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(Path(zoo_cache).resolve() / "zoo")
    extract(cand, target, cache)


def markdown(frame, floatfmt=".3f"):
    """A pipe table of a DataFrame (floats with ``floatfmt``; NaN as '–')."""

    def cell(v):
        if isinstance(v, (float, np.floating)):
            return "–" if np.isnan(v) else format(v, floatfmt)
        return str(v)

    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |"
            for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def figures(groups, examples, taus, fig_dir):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skdisco.analysis import plot_spectral_shift

    fig_dir.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for (model, tname), g in groups.groupby(["model", "target"], sort=False):
        axes[0].plot(g["group"], g["relative_change"], marker="o", lw=1,
                     alpha=0.8, label=f"{model} → {tname}")
    axes[0].set_yscale("log")
    axes[0].set_xticks(range(N_GROUPS))
    axes[0].set_xlabel("group of the pre-trained spectrum (0 = largest σ)")
    axes[0].set_ylabel("‖Z_g − Z′_g‖ / ‖Z_g‖")
    axes[0].set_title("(a) relative change per group under fine-tuning")
    axes[0].legend(fontsize=6, ncol=2)
    key = ("resnet10t@mnist-e6", "digits")
    plot_spectral_shift(examples[key], ax=axes[1])
    axes[1].set_title(f"{key[0]} → {key[1]}: " + axes[1].get_title())
    fig.tight_layout()
    fig.savefig(fig_dir / "disco_premise_shift.png", dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 3.5))
    cols = ["principal_score", "residual_score", "disco_4_bands"]
    x = np.arange(len(taus))
    for i, c in enumerate(cols):
        ax.bar(x + (i - 1) * 0.27, taus[c], width=0.27, label=c)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(x, taus["target"])
    ax.set_ylabel("weighted Kendall τ vs fine-tuning")
    ax.set_title("(b) which band's score ranks the zoo")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(fig_dir / "disco_premise_tau.png", dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoo-cache", default="/work/zoo-cache/full",
                        help="the full profile's zoo cache (read-only)")
    parser.add_argument("--cache", default=str(HERE / ".cache"))
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/analysis"))
    parser.add_argument("--figures", default=str(REPO / "docs/figures/analysis"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    from run import PROFILES
    from zoo_models import checkpoint_path, make_candidates

    candidates = [
        c for c in make_candidates(PROFILES["full"])
        if c.kind != "zoo"
        or checkpoint_path(args.zoo_cache, c.arch, c.source, c.epoch).exists()
    ]
    truth_frame = pd.read_csv(REPO / "benchmarks/results/full/ground_truth.csv")
    truth = {(t, m): v for t, m, v in truth_frame[["target", "model", "finetune"]]
             .itertuples(index=False)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    groups, summary, examples = part_a(candidates, args.zoo_cache, args.cache, truth)
    bands, taus = part_b(candidates, args.zoo_cache, args.cache, truth_frame)
    groups.to_csv(out / "disco_premise_shift_groups.csv", index=False)
    summary.to_csv(out / "disco_premise_shift.csv", index=False)
    bands.to_csv(out / "disco_premise_bands.csv", index=False)
    taus.to_csv(out / "disco_premise_tau.csv", index=False)
    figures(groups, examples, taus, Path(args.figures))

    wide = groups.pivot_table(index=["model", "target"], columns="group",
                              values="relative_change", sort=False)
    wide.columns = [f"Δ group {c}" for c in wide.columns]
    wide = wide.reset_index()
    rms = groups.pivot_table(index=["model", "target"], columns="group",
                             values="rms_change", sort=False)
    rms = rms.div(rms[0], axis=0)  # per direction, relative to group 0's
    rms.columns = [f"rms group {c} / group 0" for c in rms.columns]
    rms = rms.reset_index()
    rms_smaller = int((rms.iloc[:, 3:].gt(1.0).all(axis=1)).sum())
    n_pairs = len(summary)
    smaller = int((summary["principal_change"] < summary["residual_change"]).sum())
    monotone = int((summary["spearman_group_vs_change"] > 0).sum())
    grew = int((summary["principal_mass_after"] > summary["principal_mass_before"])
               .sum())
    beats = int((taus["principal_score"] > taus["residual_score"]).sum())
    text = [
        "## (a) relative change per group (test images, 4 groups)", "",
        markdown(wide), "",
        "## (a) principal vs residual part", "",
        markdown(summary.drop(columns=["ground_truth_acc", "n_features"])), "",
        f"principal part changed less than the residual in {smaller}/{n_pairs} "
        f"pairs; change grows with the group index (Spearman > 0) in "
        f"{monotone}/{n_pairs}; the principal σ mass grew in {grew}/{n_pairs}.",
        "",
        "## (a) change per direction (rms), relative to group 0", "",
        markdown(rms), "",
        f"every later group moved more per direction than group 0 in "
        f"{rms_smaller}/{n_pairs} pairs (an isotropic change gives 1 everywhere).",
        "",
        "## (b) weighted Kendall τ against fine-tuned accuracy", "",
        markdown(taus), "",
        f"principal band's τ above the residual band's on {beats}/{len(taus)} "
        f"targets; mean τ principal {taus['principal_score'].mean():.3f}, "
        f"residual {taus['residual_score'].mean():.3f}, 4-band DISCO "
        f"{taus['disco_4_bands'].mean():.3f}.",
        "",
        "## fine-tuning check: our accuracy vs the ground-truth table", "",
        markdown(summary[["target", "model", "finetune_acc", "ground_truth_acc"]],
                 ".4f"),
    ]
    (out / "disco_premise.md").write_text("\n".join(text) + "\n")
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
