"""Stages of the zoo benchmark: features, scores, ground truth.

Features
--------
Each candidate's pre-logits features *and* its source-head probabilities of a
target's images (train rows, then test rows) come from one pass of
:class:`skdisco.features.TorchFeatureExtractor` over the candidate's timm model
(``transform_outputs(X, ("features", "probabilities"))``): the features are the
output of the module that feeds the classifier (:data:`PRE_LOGITS_LAYER`, equal
to timm's ``forward_head(pre_logits=True)``), hooked during the forward whose
softmax gives the probabilities; with the candidate's own normalisation
(:class:`zoo_models.Preprocess`). Zoo models have a 10-class source head, the
EfficientNet-Lites their 1 000-class ImageNet head, the random controls their
random head. Cached as ``<cache>/features/<image set>/<candidate>.npz``.

Scores
------
Every scorer of :func:`skdisco.selection.scorer_names` at its defaults except
``disco_detection`` (object detection only), plus the DISCO sweep variants
(``disco[...]`` columns), computed by :func:`skdisco.selection.rank_models` on
the precomputed features of the target's *training* rows (what a practitioner
has before fine-tuning). NCTI and ETran are combined over the candidates of the
target by ``rank_models``. rank_models' row cache lives in ``<cache>/rank``.

Ground truth
------------
* Linear probe: ``StandardScaler`` + ``LogisticRegression(C=1, max_iter=2000)``
  on the frozen training features, accuracy on the test rows; regression:
  ``StandardScaler`` + ``RidgeCV(alphas=10**[-3..3])``, R^2 on the test rows.
* Fine-tuning: :class:`skdisco.finetune.FineTuneClassifier` /
  :class:`~skdisco.finetune.FineTuneRegressor` on the candidate's module
  (source head dropped, new linear head), L2-SP with alpha = beta = 0.01, SGD
  (momentum 0.9) at lr 0.01 with cosine decay, batch 64, ``max_epochs`` from the
  profile, no augmentation, no early stopping, ``random_state=0``, the
  candidate's normalisation; test accuracy (R^2 for regression). One JSON per
  (target, candidate, regularisation) in ``<cache>/finetune``.
* Seeds (the ``seeds`` stage): seed k draws target k's split
  (``zoo_data.load_target(seed=k)``) and fine-tunes with ``random_state=k``
  (head initialisation and batch order); features, scores and fine-tuning
  runs of seed k > 0 are cached under ``<name>@seed<k>`` (seed 0 is the
  single-seed layout above, so the ``truth`` stage's runs are reused).
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from zoo_models import Preprocess, load_candidate

# --------------------------------------------------------------------------- #
# features
# --------------------------------------------------------------------------- #

#: Per architecture, the module whose output is the classifier's input: timm's
#: pre-logits features (``forward_head(pre_logits=True)``) at eval time.
PRE_LOGITS_LAYER = {
    "resnet10t": "global_pool",
    "test_convnext": "head.drop",
    "mobilenetv3_small_050": "flatten",
    "test_vit": "head_drop",
    "test_efficientnet": "global_pool",
    "tf_efficientnet_lite0": "global_pool",
    "tf_efficientnet_lite1": "global_pool",
    "tf_efficientnet_lite2": "global_pool",
}


def features_and_probabilities(model, arch, X, mean, std):
    """``(pre-logits features, source probabilities)`` of images ``X``, one pass."""
    from skdisco.features import TorchFeatureExtractor

    ext = TorchFeatureExtractor(
        model,
        layer=PRE_LOGITS_LAYER[arch],
        preprocessing=Preprocess(mean, std),
        batch_size=250,
        device="cpu",
        precision="float32",
    )
    out = ext.fit(X).transform_outputs(X, ("features", "probabilities"))
    return out["features"], out["probabilities"]


def feature_path(cache, image_set, cand):
    return Path(cache) / "features" / image_set / f"{cand.name}.npz"


def extract(cand, target, cache):
    """Features and probabilities of ``target``'s train+test images, cached."""
    path = feature_path(cache, target.image_key, cand)
    if path.exists():
        return path
    X = np.concatenate([target.X_train, target.X_test])
    F, P = features_and_probabilities(
        load_candidate(cand, cache), cand.arch, X, cand.mean, cand.std
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, features=F, probabilities=P, n_train=target.X_train.shape[0])
    tmp.replace(path)
    return path


def load_features(cache, target, cand):
    """``(F_train, P_train, F_test, P_test)`` of a candidate on a target."""
    with np.load(feature_path(cache, target.image_key, cand)) as z:
        F, P, n = z["features"], z["probabilities"], int(z["n_train"])
    if n != target.X_train.shape[0]:
        raise RuntimeError(f"stale feature cache for {cand.name}/{target.name}")
    return F[:n], P[:n], F[n:], P[n:]


# --------------------------------------------------------------------------- #
# scores
# --------------------------------------------------------------------------- #
DISCO_SWEEP_GROUPS = (1, 2, 4, 8, 16)


def disco_sweep_settings():
    """``{column: DiscoScorer params}``: the sweep of DISCO's open decisions.

    The full factorial of n_groups (1, 2, 4, 8, 16) x centring (on, off) x
    covariance (isotropic, shared with OAS shrinkage, identity) x posterior
    (cross-validated, in-sample); the class-specific covariance (much slower on
    wide features) at 4 groups, centred, with both posteriors; and
    ``disco[paper]``: the literal reading (4 groups, no centring, in-sample
    posterior, shared shrunk covariance, no hard-example sampling). These
    columns score regression with the paper's in-sample S_lr
    (``regression_score="in_sample"``, the default until issue 18).
    ``n_groups=1`` is the control: no spectral decomposition at all (the
    nearest-centroid / LDA probe of the whole space that DISCO weights by
    component), so the table shows whether the weighting helps. Regression
    also gets S_lr's out-of-sample readings (:func:`disco_regression_settings`).
    """
    settings = {}

    def add(g, centering, cov, post):
        name = (
            f"disco[g={g},{'c' if centering else 'nc'},{cov},"
            f"{'cv' if post == 'cross_validated' else 'ins'}]"
        )
        settings[name] = dict(
            n_groups=g, centering=centering, covariance=cov, posterior=post,
            regression_score="in_sample", random_state=0,
        )

    for g in DISCO_SWEEP_GROUPS:
        for centering in (True, False):
            for cov in ("isotropic", "shared", "identity"):
                for post in ("cross_validated", "in_sample"):
                    add(g, centering, cov, post)
    for post in ("cross_validated", "in_sample"):
        add(4, True, "class", post)
    settings["disco[paper]"] = dict(
        n_groups=4, centering=False, covariance="shared", posterior="in_sample",
        regression_score="in_sample", hard_examples=None, random_state=0,
    )
    settings.update(disco_regression_settings(("loo", "evidence")))
    return settings


def disco_regression_settings(readings=("in_sample", "loo", "evidence")):
    """``{column: DiscoScorer params}``: S_lr's readings at every sweep size.

    ``disco[g=G,nc,lr=R]``: ``regression_score=R`` at ``n_groups=G`` without
    centring, the other parameters at their defaults (they apply to
    classification only, where these columns equal ``disco[g=G,nc,isotropic,
    cv]``). :func:`disco_sweep_settings` holds the out-of-sample readings; the
    in-sample one is the regression score of every other sweep column.
    ``benchmarks/zoo/disco_regression.py`` compares them.
    """
    return {
        f"disco[g={g},nc,lr={reading}]": dict(
            n_groups=g, centering=False, regression_score=reading, random_state=0,
        )
        for reading in readings
        for g in DISCO_SWEEP_GROUPS
    }


def make_scorers(with_sweep=True):
    """``{column: unfitted scorer}``: every registry scorer + the DISCO sweep."""
    from skdisco.scorers import DiscoScorer
    from skdisco.selection import scorer_names

    scorers = {
        name: cls() for name, cls in scorer_names().items()
        if name != "disco_detection"
    }
    if with_sweep:
        for name, params in disco_sweep_settings().items():
            scorers[name] = DiscoScorer(**params)
    return scorers


def score_target(target, candidates, cache, *, n_jobs=1, with_sweep=True):
    """Long table ``target, model, scorer, score`` from rank_models."""
    from skdisco.selection import rank_models

    models = {}
    for cand in candidates:
        F, P, _, _ = load_features(cache, target, cand)
        models[cand.name] = {"features": F, "probabilities": P}
    scorers = make_scorers(with_sweep)
    y = target.y_train
    if target.task == "classification":
        y = y.astype(np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = rank_models(
            models, y=y, scorers=scorers, n_jobs=n_jobs,
            cache_dir=Path(cache) / "rank" / target.key,
        )
    long = table.melt(
        id_vars=["model"], value_vars=list(scorers), var_name="scorer",
        value_name="score",
    )
    long.insert(0, "target", target.name)
    errors = table[["model", "error", "time_s"]].copy()
    errors.insert(0, "target", target.name)
    return long, errors


# --------------------------------------------------------------------------- #
# ground truth
# --------------------------------------------------------------------------- #
def linear_probe(target, cand, cache):
    """Frozen-feature ground truth: test accuracy (or R^2) of a linear model."""
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    F_tr, _, F_te, _ = load_features(cache, target, cand)
    if target.task == "classification":
        model = make_pipeline(
            StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)
        )
    else:
        model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 7)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(F_tr, target.y_train)
        return float(model.score(F_te, target.y_test))


FINETUNE = dict(
    alpha=0.01, beta=0.01, optimizer="sgd", learning_rate=0.01,
    lr_schedule="cosine", batch_size=64, augment=False, early_stopping=False,
    device="cpu", random_state=0,
)


def finetune_path(cache, target, cand, regularization):
    return (
        Path(cache) / "finetune" / target.key
        / f"{cand.name}__{regularization}.json"
    )


def finetune_params(seed):
    """:data:`FINETUNE` with ``random_state=seed``.

    The fine-tuners' ``random_state`` seeds the new head's initialisation and
    the batch order (their only randomness here: no augmentation, no
    early-stopping split). Seed 0 is :data:`FINETUNE` itself.
    """
    return {**FINETUNE, "random_state": int(seed)}


def finetune(target, cand, cache, *, max_epochs, regularization="l2-sp"):
    """Fine-tuned test accuracy (R^2) of a candidate on a target, cached."""
    path = finetune_path(cache, target, cand, regularization)
    if path.exists():
        return json.loads(path.read_text())
    from skdisco.finetune import FineTuneClassifier, FineTuneRegressor

    cls = FineTuneClassifier if target.task == "classification" else FineTuneRegressor
    est = cls(
        load_candidate(cand, cache), regularization=regularization,
        max_epochs=max_epochs, preprocessing=Preprocess(cand.mean, cand.std),
        verbose=0,  # hundreds of batch fits: no per-epoch lines
        **finetune_params(target.seed),
    )
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(target.X_train, target.y_train)
        score = float(est.score(target.X_test, target.y_test))
    hist = getattr(est, "history_", None) or [{}]
    row = {
        "target": target.name, "model": cand.name,
        "regularization": regularization, "score": score,
        "max_epochs": max_epochs, "fit_s": time.perf_counter() - t0,
        "final_train_loss": hist[-1].get("train_loss"),
        "distance_total": hist[-1].get("distance_total"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(row))
    return row


def truth_frame(rows):
    return pd.DataFrame.from_records(rows)
