"""Deng et al. 2023 (and Liu et al. 2019's third finding) on the offline zoo.

(a) frozen extractor (LogME, linear probe) against fine-tuning over the
pre-training epochs of each zoo run, per target; (b) does transferability rise
then fall over pre-training; (c) are the large-singular-value components of a
checkpoint's target features learnt first (smaller relative change between
consecutive checkpoints, smaller principal angles)?

Frozen scores and spectra: computed here with skdisco.analysis on the target's
training images (``--n-train``, default 300). Fine-tuning: the zoo benchmark's
own ground truth (``benchmarks/results/<profile>/ground_truth.csv``: n_train
1000, 4 epochs of L2-SP fine-tuning per checkpoint), not re-run here (the CPU
budget). Writes ``benchmarks/results/analysis/deng2023_*.csv``, the figure
``docs/figures/analysis/deng2023_trajectories.png`` and prints the Markdown
tables of ``docs/analysis/deng2023.md``.

    OMP_NUM_THREADS=1 python3 benchmarks/analysis/deng2023.py --profile full
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "benchmarks" / "zoo"))
sys.path.insert(0, str(REPO))

TARGETS = ("digits", "fashion", "ising_phase")


def zoo_runs(profile, cache):
    from run import PROFILES
    from zoo_models import make_candidates

    cands = [
        c
        for c in make_candidates(PROFILES[profile])
        if c.kind == "zoo"
        and len(PROFILES[profile]["checkpoints"]) > 1
        and c.source not in PROFILES[profile].get("final_only_sources", ())
    ]
    runs = {}
    for c in cands:
        runs.setdefault(c.run, []).append(c)
    return runs


def spectra_rows(run, target, feats, epochs):
    """Relative σ change and principal angles between consecutive checkpoints."""
    from scipy.linalg import subspace_angles

    from skdisco.analysis import spectral_profile

    rows = []
    profiles = [spectral_profile(f) for f in feats]
    for (e0, p0, f0), (e1, p1, f1) in zip(
        zip(epochs, profiles, feats), list(zip(epochs, profiles, feats))[1:]
    ):
        k = min(p0.n_principal, len(p1.singular_values))
        r = min(len(p0.singular_values), len(p1.singular_values))
        s0, s1 = p0.singular_values[:r], p1.singular_values[:r]
        keep = s0 > s0[0] * 1e-6
        change = np.abs(s1 - s0)[keep] / s0[keep]
        kk = min(k, int(keep.sum()) - 1)

        # principal subspaces (right singular vectors) of the centred features
        def top(f, m):
            c = f - f.mean(axis=0)
            return np.linalg.svd(c, full_matrices=False)[2][:m].T

        angles = np.degrees(subspace_angles(top(f0, kk), top(f1, kk)))
        res = np.degrees(
            subspace_angles(top(f0, 2 * kk)[:, kk:], top(f1, 2 * kk)[:, kk:])
        )
        rows.append(
            dict(
                run=run,
                target=target,
                from_epoch=e0,
                to_epoch=e1,
                n_principal=kk,
                principal_rel_change=float(change[:kk].mean()),
                residual_rel_change=float(change[kk:].mean()),
                principal_angle_mean=float(angles.mean()),
                next_band_angle_mean=float(res.mean()),
            )
        )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="full", choices=("full", "quick"))
    parser.add_argument("--cache", default=None)
    parser.add_argument("--n-train", type=int, default=300)
    args = parser.parse_args(argv)
    cache = Path(args.cache or f"/work/zoo-cache/{args.profile}")
    from zoo_data import load_target
    from zoo_models import Preprocess, load_candidate

    from skdisco.analysis import checkpoint_trajectory, plot_checkpoint_trajectory
    from skdisco.analysis._models import frozen_spec

    t0 = time.perf_counter()
    truth = pd.read_csv(
        REPO / "benchmarks" / "results" / args.profile / "ground_truth.csv"
    )
    out_dir = REPO / "benchmarks" / "results" / "analysis"
    out_dir.mkdir(parents=True, exist_ok=True)
    frames, spectra = [], []
    for tname in TARGETS:
        target = load_target(tname, n_train=args.n_train, n_test=10, seed=0)
        for run, cands in zoo_runs(args.profile, cache).items():
            pre = Preprocess(cands[0].mean, cands[0].std)
            modules = {c.epoch: load_candidate(c, cache) for c in cands}
            traj = checkpoint_trajectory(
                modules,
                target.X_train,
                target.y_train,
                preprocessing=pre,
                scorers=("logme", "linear_probe"),
            )
            ft = truth[
                (truth["target"] == tname)
                & truth["model"].isin([c.name for c in cands])
            ]
            for c in cands:
                v = ft.loc[ft["model"] == c.name, "finetune"]
                traj.loc[len(traj)] = dict(
                    checkpoint=str(c.epoch),
                    epoch=float(c.epoch),
                    measure="finetune_accuracy",
                    kind="finetune",
                    value=float(v.iloc[0]) if len(v) else np.nan,
                    time_s=np.nan,
                    error=None if len(v) else "not in ground_truth.csv",
                    from_cache=True,
                )
            traj.insert(0, "target", tname)
            traj.insert(0, "run", run)
            frames.append(traj)
            feats = [
                frozen_spec(modules[c.epoch], preprocessing=pre)
                .fit()
                .transform(target.X_train)
                .astype(np.float64)
                for c in cands
            ]
            spectra += spectra_rows(run, tname, feats, [c.epoch for c in cands])
            print(f"[{time.perf_counter() - t0:6.0f}s] {tname} {run}", flush=True)
    traj = pd.concat(frames, ignore_index=True)
    traj.to_csv(out_dir / "deng2023_trajectories.csv", index=False)
    spec = pd.DataFrame(spectra)
    spec.to_csv(out_dir / "deng2023_spectra.csv", index=False)

    # (a), (b): per run and target, the best epoch of each measure
    summary = []
    for (run, tname), part in traj.groupby(["run", "target"], sort=False):
        rec = dict(run=run, target=tname)
        for measure, m in part.groupby("measure"):
            m = m.sort_values("epoch")
            v = m["value"].to_numpy()
            if np.isnan(v).any():
                continue
            rec[f"{measure}_best_epoch"] = int(m["epoch"].iloc[int(np.argmax(v))])
            rec[f"{measure}_rise_then_fall"] = bool(v[1] > v[0] and v[1] > v[-1])
            rec[f"{measure}_final_minus_first"] = float(v[-1] - v[0])
        summary.append(rec)
    summary = pd.DataFrame(summary)
    summary.to_csv(out_dir / "deng2023_summary.csv", index=False)
    n = len(summary)
    final = (
        summary["finetune_accuracy_best_epoch"]
        == summary["finetune_accuracy_best_epoch"].max()
    )
    lines = [
        "| measure | best at epoch 1 / 3 / 6 | rise then fall | mean final − first |",
        "|---|---|---|---|",
    ]
    for measure in ("logme", "linear_probe", "finetune_accuracy"):
        best = summary[f"{measure}_best_epoch"].value_counts()
        lines.append(
            f"| {measure} | {best.get(1, 0)} / {best.get(3, 0)} / {best.get(6, 0)} "
            f"| {int(summary[f'{measure}_rise_then_fall'].sum())} of {n} "
            f"| {summary[f'{measure}_final_minus_first'].mean():+.4f} |"
        )
    for frozen in ("logme", "linear_probe"):
        middle = (summary[f"{frozen}_best_epoch"] == 3) & final
        lines.append(
            f"\n{frozen}: middle checkpoint the better frozen extractor while "
            f"fine-tuning is best at the final one: {int(middle.sum())} of "
            f"{int(final.sum())} (run, target) pairs with fine-tuning best at the end."
        )
    s = spec
    lines += [
        "",
        "| transition | pairs | principal rel. Δσ | residual rel. Δσ "
        "| principal smaller | principal angle (°) | next-band angle (°) |",
        "|---|---|---|---|---|---|---|",
    ]
    for (e0, e1), part in s.groupby(["from_epoch", "to_epoch"]):
        smaller = (part["principal_rel_change"] < part["residual_rel_change"]).sum()
        lines.append(
            f"| {e0}→{e1} | {len(part)} | {part['principal_rel_change'].median():.3f} "
            f"| {part['residual_rel_change'].median():.3f} | {smaller} of {len(part)} "
            f"| {part['principal_angle_mean'].median():.1f} "
            f"| {part['next_band_angle_mean'].median():.1f} |"
        )
    table = "\n".join(lines)
    (out_dir / "deng2023_tables.md").write_text(table + "\n")
    print(table)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pick = [
        ("test_convnext@mnist", "digits"),
        ("resnet10t@fashion", "fashion"),
        ("mobilenetv3_small_050@mnist", "ising_phase"),
    ]
    fig, axes = plt.subplots(1, len(pick), figsize=(15, 4))
    for ax, (run, tname) in zip(axes, pick):
        part = traj[(traj["run"] == run) & (traj["target"] == tname)]
        plot_checkpoint_trajectory(part, normalize=True, ax=ax)
        ax.set_title(f"{run} → {tname}", fontsize=9)
    fig.tight_layout()
    fig_dir = REPO / "docs" / "figures" / "analysis"
    fig_dir.mkdir(parents=True, exist_ok=True)
    fig.savefig(fig_dir / "deng2023_trajectories.png", dpi=110)
    print(
        f"profile {args.profile}, n_train {args.n_train}, "
        f"{time.perf_counter() - t0:.0f} s"
    )


if __name__ == "__main__":
    main()
