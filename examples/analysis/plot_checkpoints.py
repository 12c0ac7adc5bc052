"""
Frozen extractor against fine-tuning over pre-training
======================================================

Deng et al. (2023) score each checkpoint of a pre-training run twice: frozen
(a linear probe, a transferability score) and fine-tuned. Here a tiny ConvNeXt
is pre-trained from scratch on the digits 0-4 for a few epochs, a checkpoint
saved after each, and :func:`skdisco.analysis.checkpoint_trajectory` measures
how each checkpoint transfers to the digits 5-9.
"""

# %%
# Pre-train ``test_convnext`` on digits 0-4 and save a state dict per epoch;
# each checkpoint is reloaded as a module (a file of timm's own tensor names
# would do as ``"test_convnext=PATH"`` too, for a 1000-class head).
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import timm
import torch

from skdisco.analysis import checkpoint_trajectory, plot_checkpoint_trajectory
from skdisco.datasets import load_digit_images

torch.manual_seed(0)
X, y = load_digit_images(None)
source, target = y < 5, y >= 5
xs = torch.from_numpy(X[source]).permute(0, 3, 1, 2).float().div(255)
xs = (xs - 0.5) / 0.5
ys = torch.from_numpy(y[source])
model = timm.create_model("test_convnext", num_classes=5)
opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
folder = Path(tempfile.mkdtemp())
checkpoints = {}
for epoch in range(1, 5):
    model.train()
    for idx in torch.randperm(len(ys)).split(64):
        loss = torch.nn.functional.cross_entropy(model(xs[idx]), ys[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    torch.save(model.state_dict(), folder / f"epoch{epoch}.pt")
    checkpoint = timm.create_model("test_convnext", num_classes=5)
    checkpoint.load_state_dict(torch.load(folder / f"epoch{epoch}.pt"))
    checkpoints[epoch] = checkpoint.eval()

# %%
# Frozen scores (LogME, linear probe) and one epoch of fine-tuning per
# checkpoint on 200 target images, tested on 150 others. The frozen scores
# read each module's pooled pre-logits features; the fine-tuner replaces its
# 5-class source head.
Xt, yt = X[target], y[target]
rng = np.random.default_rng(0)
order = rng.permutation(len(yt))
train, test = order[:200], order[200:350]


def preprocess(image):
    """The pre-training's preprocessing: [0, 1] -> [-1, 1], no resize."""
    t = torch.from_numpy(np.asarray(image, np.float32) / 255).permute(2, 0, 1)
    return (t - 0.5) / 0.5


traj = checkpoint_trajectory(
    checkpoints,
    Xt[train],
    yt[train],
    finetune={"max_epochs": 1, "batch_size": 32},
    X_test=Xt[test],
    y_test=yt[test],
    preprocessing=preprocess,
)
print(
    traj.pivot(index="checkpoint", columns="measure", values="value")
    .round(4)
    .to_string()
)

# %%
# Frozen measures (solid, left axis) against the fine-tuned accuracy
# (dashed, right axis).
ax = plot_checkpoint_trajectory(traj)
plt.tight_layout()
plt.show()
