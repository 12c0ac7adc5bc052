"""
Layer-wise transferability from the weights
===========================================

Chen et al. (2022) measure, layer by layer, how much of the pre-trained weights
a target task keeps: with θ_r the random initialisation, θ_A the pre-trained
weights and θ_B the weights after fine-tuning θ_A,
``T_l = D(θ_r, θ_B) / D(θ_A, θ_B)``, D the mean absolute difference of the
layer's convolution and linear weights. A large ``T_l``: fine-tuning stayed
near the pre-trained weights.

Here a tiny timm ResNet is pre-trained for a few epochs on half of
scikit-learn's digits (classes 0-4), then fine-tuned on the other half
(classes 5-9), everything offline.
"""

# %%
# Pre-train a tiny model
# ----------------------
import copy

import matplotlib.pyplot as plt
import timm
import torch

from skdisco.analysis import parameter_transferability, plot_parameter_transferability
from skdisco.datasets import load_digit_images
from skdisco.finetune import FineTuneClassifier

X, y = load_digit_images(400, size=32)
source, target = y < 5, y >= 5

torch.manual_seed(0)
random_init = timm.create_model("test_resnet", pretrained=False, num_classes=5)
pretrainer = FineTuneClassifier(
    copy.deepcopy(random_init),
    regularization=None,
    max_epochs=4,
    learning_rate=0.05,
    batch_size=32,
    random_state=0,
).fit(X[source], y[source])
pretrained = pretrainer.model_.backbone

# %%
# Fine-tune on the target and measure
# -----------------------------------
finetuner = FineTuneClassifier(
    pretrained, max_epochs=3, batch_size=32, random_state=0
).fit(X[target], y[target])
# The pre-trainer replaced the classifier by its own head, so the blocks
# compared are the backbone's; ``model`` gives timm's block grouping.
frame = parameter_transferability(random_init, pretrained, finetuner, model=random_init)
print(frame.drop(columns="level").to_string(index=False))

# %%
# T_l against depth
# -----------------
ax = plot_parameter_transferability(frame, label="digits 0-4 → 5-9")
ax.set_title("test_resnet: pre-trained on digits 0-4")
plt.tight_layout()
plt.show()
