"""Deng et al. 2023 (and Liu et al. 2019's third finding) on the offline zoo.

(a) frozen extractor (LogME, linear probe) against fine-tuning over the
pre-training epochs of each zoo run, per target; (b) does transferability rise
then fall over pre-training; (c) are the large-singular-value components of a
checkpoint's target features learnt first (smaller relative change between
consecutive checkpoints, smaller principal angles)?

Every frozen score and spectrum is computed here by skdisco.analysis on the
target's training images (the zoo profile's split: n_train 1000, seed 0).
Fine-tuning comes from two places, labelled in the ``finetune_from`` column:

* ``instrument``: for the runs in ``--finetune-runs`` (default
  test_convnext@mnist and test_efficientnet@mnist), the instrument itself
  fine-tunes every checkpoint (``checkpoint_trajectory(..., finetune=...,
  X_test=, y_test=)``) with the zoo's protocol (``zoo_stages.FINETUNE``, L2-SP,
  the profile's ``finetune_epochs``) and scores it on the target's test rows;
  the rows (and every checkpoint's features) are cached under
  ``benchmarks/analysis/.cache/deng2023`` (git ignored), so a re-run only
  reads them back. They are checked against the zoo's
  ``ground_truth.csv`` for the same checkpoint and target
  (``deng2023_check.csv``).
* ``zoo table``: for the other runs, the zoo benchmark's
  ``benchmarks/results/<profile>/ground_truth.csv`` (same protocol, run by
  ``benchmarks/zoo/run.py``), not re-run here (the CPU budget).

Writes ``benchmarks/results/analysis/deng2023_*.csv``, the figure
``docs/figures/analysis/deng2023_trajectories.png`` (the instrument's own rows)
and prints the Markdown tables of ``docs/analysis/deng2023.md``
(also written to ``deng2023_tables.md``).

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


def finetune_protocol(profile):
    """The zoo's fine-tuning parameters, as ``checkpoint_trajectory`` takes them."""
    from run import PROFILES
    from zoo_stages import FINETUNE

    return {
        **FINETUNE,
        "regularization": "l2-sp",
        "max_epochs": PROFILES[profile]["finetune_epochs"],
        "verbose": 0,
    }


def table_rows(cands, truth, tname):
    """The zoo table's fine-tuned accuracies of a run's checkpoints, as rows."""
    rows = []
    for c in cands:
        value = zoo_finetune(truth, tname, c.name)
        rows.append(
            dict(
                checkpoint=str(c.epoch),
                epoch=float(c.epoch),
                measure="finetune_accuracy",
                kind="finetune",
                value=value,
                time_s=np.nan,
                error=None if np.isfinite(value) else "not in ground_truth.csv",
                from_cache=True,
            )
        )
    return pd.DataFrame(rows)


def zoo_finetune(truth, tname, model):
    """The zoo table's fine-tuned test score of ``model`` on ``tname``, or NaN."""
    v = truth.loc[(truth["target"] == tname) & (truth["model"] == model), "finetune"]
    return float(v.iloc[0]) if len(v) else np.nan


def check_rows(run, tname, traj, cands, truth, n_test):
    """The instrument's fine-tuned accuracy against the zoo table's, per checkpoint."""
    rows = []
    tuned = traj[traj["kind"] == "finetune"].set_index("checkpoint")
    for c in cands:
        ours = float(tuned.loc[str(c.epoch), "value"])
        zoo = zoo_finetune(truth, tname, c.name)
        if not (np.isfinite(ours) and np.isfinite(zoo)):
            raise SystemExit(
                f"cannot check {c.name} on {tname}: instrument {ours} (error "
                f"{tuned.loc[str(c.epoch), 'error']}), zoo table {zoo}"
            )
        rows.append(
            dict(
                run=run,
                target=tname,
                epoch=c.epoch,
                model=c.name,
                instrument=ours,
                zoo_table=zoo,
                abs_diff=abs(ours - zoo),
                # the table keeps 4 decimals; a test image is 1 / n_test
                test_images_diff=int(round(abs(ours - zoo) * n_test)),
                n_test=n_test,
                instrument_time_s=float(tuned.loc[str(c.epoch), "time_s"]),
                from_cache=bool(tuned.loc[str(c.epoch), "from_cache"]),
                error=tuned.loc[str(c.epoch), "error"],
            )
        )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="full", choices=("full", "quick"))
    parser.add_argument("--cache", default=None, help="the zoo's checkpoints")
    parser.add_argument(
        "--finetune-runs",
        nargs="*",
        default=["test_convnext@mnist", "test_efficientnet@mnist"],
        help="zoo runs whose checkpoints the instrument fine-tunes itself",
    )
    parser.add_argument(
        "--result-cache",
        default=str(HERE / ".cache" / "deng2023"),
        help="checkpoint_trajectory's cache_dir and feature cache (git ignored)",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args(argv)
    cache = Path(args.cache or f"/work/zoo-cache/{args.profile}")
    import torch
    from run import PROFILES
    from zoo_data import load_target
    from zoo_models import Preprocess, load_candidate

    from skdisco.analysis import checkpoint_trajectory, plot_checkpoint_trajectory
    from skdisco.analysis._models import frozen_spec

    torch.set_num_threads(args.threads)  # the zoo fine-tuned with 1 thread per job
    prof = PROFILES[args.profile]
    protocol = finetune_protocol(args.profile)
    # frozen rows, fine-tuning rows and features kept: a re-run recomputes nothing
    feature_cache = Path(args.result_cache) / "features"
    t0 = time.perf_counter()
    truth = pd.read_csv(
        REPO / "benchmarks" / "results" / args.profile / "ground_truth.csv"
    )
    out_dir = REPO / "benchmarks" / "results" / "analysis"
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = zoo_runs(args.profile, cache)
    unknown = set(args.finetune_runs) - set(runs)
    if unknown:
        parser.error(
            f"--finetune-runs {sorted(unknown)} are not zoo runs: {list(runs)}"
        )
    frames, spectra, checks = [], [], []
    for tname in TARGETS:
        # the zoo's own split of the target (run.load_targets)
        target = load_target(
            tname, n_train=prof["n_train"], n_test=prof["n_test"], seed=0
        )
        for run, cands in runs.items():
            pre = Preprocess(cands[0].mean, cands[0].std)
            modules = {c.epoch: load_candidate(c, cache) for c in cands}
            ours = run in args.finetune_runs
            traj = checkpoint_trajectory(
                modules,
                target.X_train,
                target.y_train,
                preprocessing=pre,
                scorers=("logme", "linear_probe"),
                finetune=protocol if ours else None,
                X_test=target.X_test if ours else None,
                y_test=target.y_test if ours else None,
                device="cpu",
                cache_dir=args.result_cache,
                feature_cache=feature_cache,
            )
            if ours:
                checks += check_rows(run, tname, traj, cands, truth, len(target.y_test))
            else:
                traj = pd.concat([traj, table_rows(cands, truth, tname)])
            traj["finetune_from"] = np.where(
                traj["kind"] == "finetune",
                "instrument" if ours else "zoo table",
                "",
            )
            traj.insert(0, "target", tname)
            traj.insert(0, "run", run)
            frames.append(traj)
            feats = [
                frozen_spec(modules[c.epoch], preprocessing=pre, cache=feature_cache)
                .fit()
                .transform(target.X_train)
                .astype(np.float64)
                for c in cands
            ]
            spectra += spectra_rows(run, tname, feats, [c.epoch for c in cands])
            print(
                f"[{time.perf_counter() - t0:6.0f}s] {tname} {run}"
                + (" (fine-tuned by the instrument)" if ours else ""),
                file=sys.stderr,
                flush=True,
            )
    traj = pd.concat(frames, ignore_index=True)
    traj.to_csv(out_dir / "deng2023_trajectories.csv", index=False)
    spec = pd.DataFrame(spectra)
    spec.to_csv(out_dir / "deng2023_spectra.csv", index=False)
    check = pd.DataFrame(checks)
    check.drop(columns="from_cache").to_csv(out_dir / "deng2023_check.csv", index=False)
    print(
        f"{int(check['from_cache'].sum())} of {len(check)} fine-tuned checkpoints "
        f"read from {args.result_cache}",
        file=sys.stderr,
    )

    # (a), (b): per run and target, the best epoch of each measure
    summary = []
    for (run, tname), part in traj.groupby(["run", "target"], sort=False):
        rec = dict(
            run=run,
            target=tname,
            finetune_from=part.loc[part["kind"] == "finetune", "finetune_from"].iloc[0],
        )
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

    n_ours = int((summary["finetune_from"] == "instrument").sum())
    lines = [
        f"Fine-tuning check: the instrument's fine-tuned test accuracy against the "
        f"zoo's ground_truth.csv, {len(check)} checkpoints ({n_ours} run × target "
        f"pairs), same checkpoints, split (n_train {prof['n_train']}, seed 0) and "
        f"protocol ({protocol['regularization']}, {protocol['optimizer']} lr "
        f"{protocol['learning_rate']}, {protocol['max_epochs']} epochs, "
        f"random_state {protocol['random_state']}):",
        "",
        "| run | target | epoch | instrument | zoo table | abs. difference |",
        "|---|---|---|---|---|---|",
    ]
    for r in check.itertuples():
        lines.append(
            f"| {r.run} | {r.target} | {r.epoch} | {r.instrument:.4f} "
            f"| {r.zoo_table:.4f} | {r.abs_diff:.5f} |"
        )
    lines += [
        "",
        f"Max abs. difference {check['abs_diff'].max():.5f} (the table keeps 4 "
        f"decimals); test images classified differently at most "
        f"{int(check['test_images_diff'].max())}; instrument fine-tuning "
        f"{check['instrument_time_s'].sum():.0f} s in all, {args.threads} torch "
        f"thread(s) (as first computed; a re-run reads the rows back).",
    ]
    subsets = (
        (
            "all",
            summary,
            "all pairs; fine-tuning from the instrument for "
            f"{n_ours}, from the zoo table for {len(summary) - n_ours}",
        ),
        (
            "instrument",
            summary[summary["finetune_from"] == "instrument"],
            "the pairs the instrument fine-tuned itself",
        ),
    )
    for _, part, label in subsets:
        lines += ["", summary_table(part, label)]
    lines += ["", zoo_checkpoints_line(args.profile)]
    table = "\n".join(lines + ["", spectra_table(spec)])
    (out_dir / "deng2023_tables.md").write_text(table + "\n")
    print(table)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ours = traj[traj["run"].isin(args.finetune_runs)]
    pairs = list(dict.fromkeys(zip(ours["run"], ours["target"])))
    ncol = len(TARGETS)
    nrow = -(-len(pairs) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(5 * ncol, 3.6 * nrow), squeeze=False)
    for ax, (run, tname) in zip(axes.ravel(), pairs):
        part = ours[(ours["run"] == run) & (ours["target"] == tname)]
        plot_checkpoint_trajectory(part, normalize=True, ax=ax)
        ax.set_title(f"{run} → {tname}", fontsize=9)
    for ax in axes.ravel()[len(pairs) :]:
        ax.set_visible(False)
    fig.suptitle(
        "checkpoint_trajectory's own rows: frozen measures and its fine-tuning, "
        "min-max normalised per measure and pair",
        fontsize=10,
    )
    fig.tight_layout()
    fig_dir = REPO / "docs" / "figures" / "analysis"
    fig_dir.mkdir(parents=True, exist_ok=True)
    fig.savefig(fig_dir / "deng2023_trajectories.png", dpi=110)
    print(
        f"\nprofile {args.profile}, n_train {prof['n_train']}, n_test "
        f"{prof['n_test']}, {args.threads} torch thread(s), "
        f"{time.perf_counter() - t0:.0f} s",
        file=sys.stderr,
    )


def summary_table(summary, label):
    """(a), (b): best epoch, rise then fall, final − first, over ``summary``'s pairs."""
    n = len(summary)
    final = (
        summary["finetune_accuracy_best_epoch"]
        == summary["finetune_accuracy_best_epoch"].max()
    )
    lines = [
        f"{n} (run, target) pairs ({label}):",
        "",
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
    return "\n".join(lines)


def zoo_checkpoints_line(profile):
    """The zoo benchmark's own checkpoint summary (all its targets), as a sentence."""
    zoo = pd.read_csv(REPO / "benchmarks" / "results" / profile / "checkpoints.csv")

    def earlier_beats_final(m):  # strictly: a tie with the final one is no win
        return zoo[f"{m}_middle_beats_final"] | (zoo[f"{m}_final_minus_first"] < 0)

    probe, tuned = earlier_beats_final("linear_probe"), earlier_beats_final("finetune")
    return (
        f"Zoo table cross-check (benchmarks/results/{profile}/checkpoints.csv, "
        f"{len(zoo)} run × target pairs): an earlier checkpoint beats the final "
        f"one for the linear probe in {int(probe.sum())} of {len(zoo)}, for "
        f"fine-tuning in {int(tuned.sum())} of {len(zoo)}; the linear probe prefers "
        f"an earlier one while fine-tuning does not in "
        f"{int((probe & ~tuned).sum())} of {len(zoo)}."
    )


def spectra_table(spec):
    """(c): principal against residual change between consecutive checkpoints."""
    lines = [
        "| transition | pairs | principal rel. Δσ | residual rel. Δσ "
        "| principal smaller | principal angle (°) | next-band angle (°) |",
        "|---|---|---|---|---|---|---|",
    ]
    for (e0, e1), part in spec.groupby(["from_epoch", "to_epoch"]):
        smaller = (part["principal_rel_change"] < part["residual_rel_change"]).sum()
        lines.append(
            f"| {e0}→{e1} | {len(part)} | {part['principal_rel_change'].median():.3f} "
            f"| {part['residual_rel_change'].median():.3f} | {smaller} of {len(part)} "
            f"| {part['principal_angle_mean'].median():.1f} "
            f"| {part['next_band_angle_mean'].median():.1f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
