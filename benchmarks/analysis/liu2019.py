"""Liu et al. (2019), findings 1-2, on the offline zoo: pre-trained vs random init.

For each architecture (the final checkpoint of its MNIST pre-training run) and
its seeded random initialisation, and each target, fine-tune with
``FineTuneClassifier`` (plain SGD fine-tuning, no penalty: Liu et al.'s
setting) and measure:

* relative weight deviation ``‖W − W₀‖ / ‖W₀‖`` over the backbone (total) and
  its median over layers, after fine-tuning;
* the landscape along the gradient (Santurkar protocol) at fine-tuning steps
  0, 5, 10 and 20, on that step's batch (``LandscapeRecorder``, train mode);
* the share of the top singular value of the first layer's weight gradient at
  the same steps;
* sharpness (ε = 1e-3, 20 per-layer perturbations) and smoothness at the final
  weights on the training images (eval mode).

Writes ``benchmarks/results/analysis/liu2019_{steps,final,summary}.csv``, the
figure ``docs/figures/analysis/liu2019.png`` and prints the Markdown table of
``docs/analysis/liu2019.md``. Run from the repository root::

    OMP_NUM_THREADS=1 python3 benchmarks/analysis/liu2019.py [--profile full]

Uses the pre-built zoo in ``/work/zoo-cache/<profile>`` (``--cache``).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks" / "zoo"))
sys.path.insert(0, str(ROOT))

ARCHS = ("test_convnext", "test_efficientnet")
TARGETS = ("digits", "fashion")
STEPS = (0, 5, 10, 20)


def _pairs(profile):
    from run import PROFILES
    from zoo_models import make_candidates

    cands = make_candidates(PROFILES[profile])
    final = PROFILES[profile]["epochs"]
    out = []
    for arch in ARCHS:
        (pre,) = [
            c
            for c in cands
            if c.arch == arch and c.source == "mnist" and c.epoch == final
        ]
        out.append(("pretrained", pre))
        from zoo_models import Candidate

        out.append(("random", Candidate(f"{arch}@random", arch, "random", "random")))
    return out


def _markdown(frame):
    """A pipe table (no tabulate dependency)."""
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)


def write_summary(summary, out):
    """The page's table and verdict line, as ``liu2019_summary.md``."""
    verdicts = summary[
        ["flatter", "smoother", "more predictive", "closer", "suppressed σ₁"]
    ].sum()
    line = f"pairs where pre-training wins (of {len(summary)}): " + ", ".join(
        f"{k} {int(v)}" for k, v in verdicts.items()
    )
    (out / "liu2019_summary.md").write_text(_markdown(summary) + "\n\n" + line + "\n")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="full", choices=("full", "quick"))
    p.add_argument("--cache", default=None)
    p.add_argument("--n-train", type=int, default=300)
    p.add_argument("--epochs", type=int, default=3)
    args = p.parse_args(argv)
    cache = args.cache or f"/work/zoo-cache/{args.profile}"

    import pandas as pd
    import torch
    from zoo_data import load_target
    from zoo_models import Preprocess, load_candidate

    from skdisco.analysis import (
        LandscapeRecorder,
        gradient_principal_component,
        loss_smoothness,
        sharpness,
        weight_deviation,
    )
    from skdisco.finetune import FineTuneClassifier

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    step_rows, final_rows = [], []
    for tname in TARGETS:
        target = load_target(tname, n_train=args.n_train, n_test=10)
        X, y = target.X_train, target.y_train
        for init, cand in _pairs(args.profile):
            recorder = LandscapeRecorder(steps=STEPS, random_state=0)
            est = FineTuneClassifier(
                load_candidate(cand, cache),
                preprocessing=Preprocess(cand.mean, cand.std),
                regularization=None,
                optimizer="sgd",
                learning_rate=0.01,
                lr_schedule="cosine",
                max_epochs=args.epochs,
                batch_size=32,
                device="cpu",
                random_state=0,
                callback=recorder,
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.fit(X, y)
                dev = weight_deviation(est, total=True)
            last = dev[dev["epoch"] == dev["epoch"].max()]
            layers = last[last["layer"] != "total"]
            key = {"target": tname, "arch": cand.arch, "init": init}
            for rec in recorder.records_:
                step_rows.append({**key, **rec})
            smooth = loss_smoothness(est, batches=(X, y), batch_size=100)
            grad = gradient_principal_component(est, batches=(X, y), batch_size=100)
            final_rows.append(
                {
                    **key,
                    **smooth.summary(),
                    "sharpness": sharpness(
                        est, batches=(X, y), batch_size=100, random_state=0
                    ),
                    **grad.summary(),
                    "relative_deviation_total": float(
                        last.loc[last["layer"] == "total", "relative_deviation"].iloc[0]
                    ),
                    "relative_deviation_median": float(
                        layers["relative_deviation"].median()
                    ),
                    "train_accuracy": float(est.score(X, y)),
                }
            )
            print(
                f"{tname} {cand.name}: {time.perf_counter() - t0:.0f} s",
                file=sys.stderr,
                flush=True,
            )
    steps = pd.DataFrame(step_rows)
    final = pd.DataFrame(final_rows)
    out = ROOT / "benchmarks" / "results" / "analysis"
    out.mkdir(parents=True, exist_ok=True)
    steps.to_csv(out / "liu2019_steps.csv", index=False)
    final.to_csv(out / "liu2019_final.csv", index=False)

    # One line per (target, arch): pre-trained vs random, and the verdicts.
    early = (
        steps[steps["step"] <= 10]
        .groupby(["target", "arch", "init"])
        .mean(numeric_only=True)
    )
    rows = []
    for (tname, arch), g in final.groupby(["target", "arch"], sort=False):
        pre = g[g["init"] == "pretrained"].iloc[0]
        rnd = g[g["init"] == "random"].iloc[0]
        e_pre, e_rnd = (
            early.loc[(tname, arch, "pretrained")],
            early.loc[(tname, arch, "random")],
        )
        rows.append(
            {
                "target": tname,
                "arch": arch,
                "sharpness pre / rand": (
                    f"{pre['sharpness']:.2e} / {rnd['sharpness']:.2e}"
                ),
                "loss variation (steps 0-10) pre / rand": (
                    f"{e_pre['loss_variation']:.3f} / {e_rnd['loss_variation']:.3f}"
                ),
                "grad. predictiveness (steps 0-10) pre / rand": (
                    f"{e_pre['gradient_predictiveness']:.3f} / "
                    f"{e_rnd['gradient_predictiveness']:.3f}"
                ),
                "rel. deviation (total) pre / rand": (
                    f"{pre['relative_deviation_total']:.4f} / "
                    f"{rnd['relative_deviation_total']:.4f}"
                ),
                "σ₁ share of ∇W₁ (steps 0-10) pre / rand": (
                    f"{e_pre['gradient_share']:.3f} / {e_rnd['gradient_share']:.3f}"
                ),
                "flatter": bool(pre["sharpness"] < rnd["sharpness"]),
                "smoother": bool(e_pre["loss_variation"] < e_rnd["loss_variation"]),
                "more predictive": bool(
                    e_pre["gradient_predictiveness"] < e_rnd["gradient_predictiveness"]
                ),
                "closer": bool(
                    pre["relative_deviation_total"] < rnd["relative_deviation_total"]
                ),
                "suppressed σ₁": bool(
                    e_pre["gradient_share"] < e_rnd["gradient_share"]
                ),
            }
        )
    summary = pd.DataFrame(rows)
    summary.to_csv(out / "liu2019_summary.csv", index=False)
    write_summary(summary, out)
    print((out / "liu2019_summary.md").read_text())

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    for (tname, arch, init), g in steps.groupby(["target", "arch", "init"]):
        style = "-" if init == "pretrained" else "--"
        label = f"{arch.replace('test_', '')} {tname} {init}"
        axes[0].plot(
            g["step"], g["loss_variation"], style, marker="o", ms=3, label=label
        )
        axes[1].plot(g["step"], g["gradient_predictiveness"], style, marker="o", ms=3)
        axes[2].plot(g["step"], g["gradient_share"], style, marker="o", ms=3)
    axes[0].set_ylabel("loss variation along −∇L")
    axes[1].set_ylabel("gradient predictiveness")
    axes[2].set_ylabel("σ₁ / Σσ of the first layer's gradient")
    for ax in axes:
        ax.set_xlabel("fine-tuning step")
    axes[0].set_yscale("log")
    axes[1].set_yscale("log")
    axes[0].legend(fontsize="x-small")
    fig.tight_layout()
    fig_dir = ROOT / "docs" / "figures" / "analysis"
    fig_dir.mkdir(parents=True, exist_ok=True)
    fig.savefig(fig_dir / "liu2019.png", dpi=110)
    print(
        f"\n{time.perf_counter() - t0:.0f} s, profile {args.profile}", file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
