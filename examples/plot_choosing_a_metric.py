"""
Choosing a score from the zoo benchmark
=======================================

Which transferability score should you trust? The zoo benchmark (see
``docs/zoo_benchmark.md``) fine-tuned 42 real pre-trained candidates on 6 real
targets and asked every scorer to rank them. Its results ship with the
repository in ``benchmarks/results/full/``; this example reads them (nothing is
recomputed) and shows the weighted Kendall τ of each scorer on each target: 1
means the score ranks the candidates exactly as fine-tuning does, 0 is no better
than chance.
"""

# %%
# Read the shipped results
# ------------------------
# The path is relative to this file, so the example runs from any directory.
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

try:
    HERE = Path(__file__).resolve().parent
except NameError:  # sphinx-gallery runs examples with cwd = their folder
    HERE = Path.cwd()
RESULTS = HERE.parent / "benchmarks" / "results" / "full"
evaluation = pd.read_csv(RESULTS / "evaluation.csv")
summary = pd.read_csv(RESULTS / "summary.csv")

# %%
# Weighted τ per scorer and target (ground truth: fine-tuning)
# ------------------------------------------------------------
# Only the scorers with their default settings (the sweep's variants of DISCO,
# written ``disco[...]``, are left out).
finetune = evaluation[(evaluation["truth"] == "finetune")
                      & ~evaluation["scorer"].str.contains(r"\[")]
table = finetune.pivot(index="scorer", columns="target", values="weighted_kendall_tau")
table = table.loc[table.mean(axis=1).sort_values(ascending=False).index]
print(table.round(3).to_string())

# %%
# Mean over targets, against both kinds of ground truth
# -----------------------------------------------------
print(summary.set_index("scorer")[
    ["tau_w_finetune", "tau_w_linear_probe", "top1_finetune", "n_targets"]
].round(3).to_string())

# %%
# The figure: one row per scorer, one column per target.
fig, ax = plt.subplots(figsize=(7, 0.35 * len(table) + 1.5))
image = ax.imshow(table.to_numpy(), cmap="RdBu", vmin=-1, vmax=1, aspect="auto")
ax.set_xticks(range(table.shape[1]), table.columns, rotation=30, ha="right")
ax.set_yticks(range(table.shape[0]), table.index)
fig.colorbar(image, ax=ax, label="weighted Kendall τ vs fine-tuning")
fig.tight_layout()

# %%
# What it means for choosing
# --------------------------
# Read across a row: a score that is high on every target is one to trust on a
# new one; a score that swings from target to target is only as good as the
# target it happened to be measured on. The spread between targets is large for
# every scorer, and the benchmark has 6 targets: differences of a few hundredths
# in the mean are not evidence. ``docs/choosing_a_score.md`` draws the
# conclusions, with these numbers.
