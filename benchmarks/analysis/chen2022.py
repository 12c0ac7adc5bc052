"""Chen et al. (2022) on the zoo: is the lowest layer the most transferable?

For each pre-trained candidate (θ_A: the final epoch-6 checkpoint of a zoo
model pre-trained on MNIST, or EfficientNet-Lite0 with its offline ImageNet
weights) and each target, the candidate is fine-tuned with the zoo's protocol
(``zoo_stages.FINETUNE``: L2-SP, SGD lr 0.01 cosine, batch 64, no
augmentation, ``random_state=0``; ``max_epochs`` and the number of training
images from the profile) into θ_B, and
:func:`skdisco.analysis.parameter_transferability` compares θ_B with θ_A and
with θ_r, the seeded initialisation the zoo run started from
(``zoo_models.create(arch, seed=0)``; for Lite0 timm's seeded initialisation,
not the unknown one ImageNet training started from). Layers are timm's
``group_matcher`` blocks; the new head has no pre-trained counterpart and is
not compared.

Writes ``benchmarks/results/analysis/chen2022_layers.csv`` (one row per
candidate, target and block), ``chen2022_summary.csv`` and the Markdown table
``chen2022_summary.md`` pasted in ``docs/analysis/chen2022.md``, and the figure
``docs/figures/analysis/chen2022.png``.

Run from the repository root::

    OMP_NUM_THREADS=1 python3 benchmarks/analysis/chen2022.py --profile full
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks" / "zoo"))
sys.path.insert(0, str(ROOT))

from run import PROFILES  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402
from zoo_data import load_target  # noqa: E402
from zoo_models import Preprocess, create, load_candidate, make_candidates  # noqa: E402
from zoo_stages import FINETUNE  # noqa: E402

from skdisco.analysis import (  # noqa: E402
    finetune_parameter_transferability,
    plot_parameter_transferability,
)

CACHES = {"full": "/work/zoo-cache/full", "quick": "/work/zoo-cache/quick"}
#: Pre-trained candidates per profile: final checkpoints of the MNIST runs + Lite0.
MODELS = {
    "full": (
        "resnet10t@mnist-e6",
        "test_convnext@mnist-e6",
        "test_efficientnet@mnist-e6",
        "lite0@imagenet",
    ),
    "quick": ("test_convnext@mnist-e3", "test_efficientnet@mnist-e3", "lite0@imagenet"),
}
TARGETS = ("digits", "fashion", "ising_phase")
OUT = ROOT / "benchmarks" / "results" / "analysis"
FIG = ROOT / "docs" / "figures" / "analysis"


def measure(cand, target, cache, epochs):
    params = {k: v for k, v in FINETUNE.items() if k != "random_state"}
    params.update(max_epochs=epochs, preprocessing=Preprocess(cand.mean, cand.std))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame, scores = finetune_parameter_transferability(
            load_candidate(cand, cache).train(),
            target.X_train,
            target.y_train,
            X_test=target.X_test,
            y_test=target.y_test,
            random_init=create(cand.arch, seed=0),
            random_state=FINETUNE["random_state"],
            finetune_params=params,
        )
    frame.insert(0, "target", target.name)
    frame.insert(0, "model", cand.name)
    frame["finetuned_score"] = scores["pretrained"]
    return frame


def summarise(layers):
    rows = []
    for (model, target), f in layers.groupby(["model", "target"], sort=False):
        body = f[(f["level"] == "group") & ~f["is_head"]]
        t = body["transferability"].to_numpy()
        best = body.iloc[int(np.argmax(t))]
        rows.append(
            {
                "model": model,
                "target": target,
                "n_blocks": len(body),
                "T_lowest": t[0],
                "T_max": t.max(),
                "most_transferable": best["group"],
                "rank_of_lowest": int((t > t[0]).sum()) + 1,
                "lowest_is_most": bool(t[0] >= t.max()),
                "spearman_depth_T": float(spearmanr(body["depth"], t).statistic),
                "T_network": float(
                    f[f["level"] == "network"]["transferability"].iloc[0]
                ),
                "finetuned_score": float(f["finetuned_score"].iloc[0]),
            }
        )
    return pd.DataFrame(rows)


def markdown(summary):
    cols = [
        "model",
        "target",
        "n_blocks",
        "T_lowest",
        "T_max",
        "most_transferable",
        "rank_of_lowest",
        "spearman_depth_T",
        "T_network",
        "finetuned_score",
    ]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in summary[cols].iterrows():
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in r]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(MODELS), default="full")
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="fine-tuning epochs (default: the profile's)",
    )
    args = parser.parse_args(argv)
    profile = PROFILES[args.profile]
    epochs = args.epochs or profile["finetune_epochs"]
    cache = CACHES[args.profile]
    cands = {c.name: c for c in make_candidates(profile)}
    frames = []
    t0 = time.perf_counter()
    for target_name in TARGETS:
        target = load_target(
            target_name, n_train=profile["n_train"], n_test=profile["n_test"]
        )
        for name in MODELS[args.profile]:
            t = time.perf_counter()
            frames.append(measure(cands[name], target, cache, epochs))
            print(
                f"[{time.perf_counter() - t0:6.0f}s] {name} on {target_name}: "
                f"{time.perf_counter() - t:.0f}s",
                file=sys.stderr,
                flush=True,
            )
    layers = pd.concat(frames, ignore_index=True)
    summary = summarise(layers)
    OUT.mkdir(parents=True, exist_ok=True)
    FIG.mkdir(parents=True, exist_ok=True)
    layers.to_csv(OUT / "chen2022_layers.csv", index=False)
    summary.to_csv(OUT / "chen2022_summary.csv", index=False)
    n_low = int(summary["lowest_is_most"].sum())
    text = (
        f"Profile {args.profile}, {epochs} fine-tuning epochs, "
        f"{profile['n_train']} training images per target.\n\n"
        + markdown(summary)
        + f"\n\nLowest block the most transferable in {n_low} of {len(summary)} "
        f"(model, target) pairs; median Spearman(depth, T_l) = "
        f"{summary['spearman_depth_T'].median():.3f}.\n"
    )
    (OUT / "chen2022_summary.md").write_text(text)
    print(text)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(MODELS[args.profile])
    fig, axes = plt.subplots(
        1, len(models), figsize=(4.2 * len(models), 3.8), squeeze=False
    )
    for ax, model in zip(axes[0], models):
        for target_name in TARGETS:
            f = layers[(layers["model"] == model) & (layers["target"] == target_name)]
            plot_parameter_transferability(
                f.drop(columns=["model", "target"]), ax=ax, label=target_name
            )
        ax.set_title(model, fontsize=9)
    fig.tight_layout()
    fig.savefig(FIG / "chen2022.png", dpi=110)
    print(
        f"wrote {OUT / 'chen2022_layers.csv'} and {FIG / 'chen2022.png'} "
        f"in {time.perf_counter() - t0:.0f}s"
    )


if __name__ == "__main__":
    main()
