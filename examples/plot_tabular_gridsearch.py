"""
Score a feature matrix you already have, and select with GridSearchCV
=====================================================================

Embeddings often exist already: computed by another pipeline, exported from a
feature store, or produced by a model that is not a timm network. skdisco's
functions and estimators take any ``(n_samples, n_features)`` matrix. Here the
"backbones" are three feature sets of scikit-learn's digits of decreasing
quality, and the question is the usual one: which would a classifier built on it
do best with?
"""

# %%
# Three candidate feature matrices
# --------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from skdisco.scorers import DiscoScorer, LogMEScorer
from skdisco.selection import WholeSetSplit, transferability_scorer
from skdisco.transferability import disco, logme

X, y = load_digits(return_X_y=True)
X = X / 16.0
rng = np.random.default_rng(0)
features = {
    "pixels": X,
    "pixels + noise": X + rng.normal(0, 0.5, X.shape),
    "noise": rng.normal(size=X.shape),
}

# %%
# The functions, and the estimators
# ---------------------------------
# ``logme(F, y)`` and ``disco(F, y)`` are the maths; the estimators give the
# same number and keep what explains it (LogME's evidence per class, DISCO's
# contribution per spectral group).
for name, F in features.items():
    print(f"{name:15s} LogME {logme(F, y):+.4f}   DISCO {disco(F, y):.4f}")

scorer = DiscoScorer().fit(features["pixels"], y)
print("DISCO contributions on the pixels:", scorer.contributions_.round(4))
print("LogME evidence per class:", LogMEScorer().fit(X, y).evidence_.round(3))

# %%
# The same choice inside GridSearchCV
# -----------------------------------
# A transferability score is computed on the whole target set: ``WholeSetSplit``
# is one split whose train and test sets are both everything. The candidate
# "backbone" is a pipeline step; ``transferability_scorer("logme")`` scores the
# features that reach the last step, so a classifier pipeline is chosen by the
# transferability of its features without training it on every candidate.
columns = {name: i for i, name in enumerate(features)}
stacked = np.hstack(list(features.values()))


def select(name):
    """A feature transformer that picks one candidate's columns."""
    start = columns[name] * X.shape[1]
    return FunctionTransformer(lambda Z: Z[:, start : start + X.shape[1]])


backbones = [select(name) for name in features]
search = GridSearchCV(
    Pipeline([("backbone", backbones[0]), ("clf", LogisticRegression(max_iter=500))]),
    {"backbone": backbones},
    cv=WholeSetSplit(),
    scoring=transferability_scorer("logme"),
    refit=False,
).fit(stacked, y)
chosen = list(features)[search.best_index_]
print("LogME picks:", chosen)

# %%
# Did it pick well? The check is what the scores stand for: a classifier's
# held-out accuracy on each feature set (3-fold cross-validation).
accuracy = {
    name: cross_val_score(LogisticRegression(max_iter=500), F, y, cv=3).mean()
    for name, F in features.items()
}
for name in features:
    print(f"{name:15s} accuracy {accuracy[name]:.3f}")

fig, ax = plt.subplots(figsize=(5, 3))
ax.bar(list(features), search.cv_results_["mean_test_score"])
ax.set_ylabel("LogME (GridSearchCV score)")
ax.set_title(f"chosen: {chosen}")
fig.tight_layout()
