"""Checkpoint trajectories: frozen extractor against fine-tuning over pre-training.

Deng et al. (ICCV 2023, "Towards Inadequately Pre-trained Models in Transfer
Learning") score the checkpoints of one pre-training run twice: as frozen
feature extractors (a linear probe, a transferability score) and by
fine-tuning each one; middle checkpoints can be the better extractors while
fine-tuning keeps improving. Liu et al. (2019) find transferability first rises
then falls over pre-training. :func:`checkpoint_trajectory` measures both on
any checkpoints: the frozen scores through
:func:`~skdisco.selection.rank_models` (extraction, caching, resumability,
error rows), the fine-tuning through the package's fine-tuners, each result
kept in the same store so a re-run resumes.
"""

from __future__ import annotations

import math
import os
import re
import sys
import time
from collections.abc import Mapping
from numbers import Real

import numpy as np

from ..utils._validation import plain_value

#: Version of the fine-tuning rows kept under ``cache_dir`` (part of their key).
FINETUNE_ROW_FORMAT = 1

_TRAILING_NUMBER = re.compile(r"(-?\d+(?:\.\d+)?)$")


# --------------------------------------------------------------------------
# checkpoints
# --------------------------------------------------------------------------
def epoch_of(label):
    """The numeric epoch of a checkpoint label, or NaN.

    A number is its own epoch; a string is when it is a number or ends with
    one (``"3"``, ``"epoch3"``, ``"e3"``, ``"step-1.5"``); anything else has
    none.
    """
    if isinstance(label, Real) and not isinstance(label, bool):
        return float(label)
    if isinstance(label, str):
        match = _TRAILING_NUMBER.search(label.strip())
        if match:
            return float(match.group(1))
    return math.nan


def resolve_checkpoints(checkpoints):
    """``[(label, epoch, spec)]`` from a mapping or a list of ``(label, spec)``."""
    if isinstance(checkpoints, Mapping):
        items = list(checkpoints.items())
    elif isinstance(checkpoints, (str, bytes)) or not hasattr(checkpoints, "__iter__"):
        raise ValueError(
            "checkpoints must be a mapping {epoch or label: model} or a list of "
            f"(epoch or label, model) pairs; got {type(checkpoints).__name__}."
        )
    else:
        items = []
        for item in checkpoints:
            if not (isinstance(item, (tuple, list)) and len(item) == 2):
                raise ValueError(
                    "A list of checkpoints holds (epoch or label, model) pairs; "
                    f"got {plain_value(item)!r}."
                )
            items.append(tuple(item))
    if not items:
        raise ValueError("checkpoints is empty; give at least one checkpoint.")
    out, seen = [], set()
    for label, spec in items:
        if isinstance(spec, os.PathLike):
            spec = os.fspath(spec)
        name = str(label)
        if name in seen:
            raise ValueError(f"Checkpoint label {name!r} appears twice.")
        seen.add(name)
        out.append((name, epoch_of(label), spec))
    return out


# --------------------------------------------------------------------------
# fine-tuning one checkpoint
# --------------------------------------------------------------------------
def _finetune_template(finetune, y, task, params):
    """An unfitted fine-tuner (its ``model`` is set per checkpoint), or None."""
    from sklearn.base import clone

    from ..finetune import FineTuneClassifier, FineTuneRegressor
    from ..utils._validation import infer_task

    if finetune is None or finetune is False:
        return None
    if hasattr(finetune, "fit") and hasattr(finetune, "get_params"):
        if not isinstance(finetune, (FineTuneClassifier, FineTuneRegressor)):
            raise ValueError(
                "finetune must be True, a dict of FineTuneClassifier / "
                "FineTuneRegressor parameters or one of those estimators; got "
                f"{type(finetune).__name__}."
            )
        return clone(finetune)
    if finetune is True:
        overrides = {}
    elif isinstance(finetune, Mapping):
        overrides = dict(finetune)
    else:
        raise ValueError(
            "finetune must be True, a dict of fine-tuner parameters or a "
            f"FineTuneClassifier / FineTuneRegressor; got {plain_value(finetune)!r}."
        )
    if "model" in overrides:
        raise ValueError(
            "finetune sets the fine-tuner's parameters; its model is each "
            "checkpoint, so leave 'model' out."
        )
    cls = (
        FineTuneRegressor if infer_task(y, task) == "regression" else FineTuneClassifier
    )
    return cls(model="unset", **{**params, **overrides})


def _measure_name(estimator):
    from ..finetune import FineTuneRegressor

    return (
        "finetune_r2"
        if isinstance(estimator, FineTuneRegressor)
        else ("finetune_accuracy")
    )


def finetune_checkpoint(label, spec, X, y, X_test, y_test, template, params):
    """Fine-tune one checkpoint and score it on the test data; errors in the row.

    Returns a JSON-serialisable dict: ``value`` (test accuracy or R², None on
    failure), ``time_s``, ``n_epochs``, ``error``. ``KeyboardInterrupt`` and
    ``SystemExit`` propagate.
    """
    from sklearn.base import clone

    from ..selection._rank import _short
    from ._models import backbone

    start = time.perf_counter()
    row = {"checkpoint": label, "value": None, "n_epochs": None, "error": None}
    try:
        module, transform = backbone(
            spec,
            image_size=params.get("image_size"),
            preprocessing=params.get("preprocessing"),
        )
        estimator = clone(template).set_params(
            model=module, weights=None, preprocessing=transform
        )
        estimator.fit(X, y)
        value = float(estimator.score(X_test, y_test))
        if not math.isfinite(value):
            raise ValueError(f"the test score is {value}")
        row["value"] = value
        row["n_epochs"] = int(estimator.n_epochs_)
    except Exception as exc:
        row["error"] = _short(exc)
    row["time_s"] = time.perf_counter() - start
    return row


def _finetune_key(label, spec, data_token, template, extractor_params):
    from ..selection._rank import _spec_token
    from ..utils._store import digest

    params = {k: v for k, v in template.get_params(deep=False).items() if k != "model"}
    return {
        "kind": "checkpoint fine-tuning row",
        "row_format": FINETUNE_ROW_FORMAT,
        "checkpoint": label,
        "spec": _spec_token(spec),
        "estimator": [type(template).__name__, digest(params)],
        "extractor": digest(extractor_params),
        "data": data_token,
    }


def _finetune_all(
    items, X, y, X_test, y_test, template, params, store, resume, n_jobs, progress
):
    """``{label: row}`` of every checkpoint: from ``store`` or fine-tuned now."""
    from joblib import Parallel, delayed

    from ..selection._rank import _images_token
    from ..utils._store import digest

    rows, keys = {}, {}
    if store is not None:
        data_token = digest(
            _images_token(X), np.asarray(y), _images_token(X_test), np.asarray(y_test)
        )
        for label, _, spec in items:
            keys[label] = _finetune_key(label, spec, data_token, template, params)
            if resume:
                row = store.get_row(keys[label])
                if row is not None and row.get("error") is None:
                    row["from_cache"] = True
                    rows[label] = row
                    _report(progress, "fine-tune", row)
    pending = [(label, spec) for label, _, spec in items if label not in rows]
    if pending:
        jobs = (
            delayed(finetune_checkpoint)(
                label, spec, X, y, X_test, y_test, template, params
            )
            for label, spec in pending
        )
        for row in Parallel(n_jobs=n_jobs, return_as="generator_unordered")(jobs):
            if store is not None and row["error"] is None:
                store.put_row(keys[row["checkpoint"]], row)
            rows[row["checkpoint"]] = row
            _report(progress, "fine-tune", row)
    return rows


def _report(progress, what, row):
    if not progress:
        return
    if row.get("from_cache"):
        status = "from cache"
    elif row.get("error"):
        status = f"FAILED ({row['error']})"
    else:
        status = f"{row['value']:.4g} ({row['time_s']:.1f} s)"
    sys.stderr.write(f"[{what}] {row['checkpoint']}: {status}\n")
    sys.stderr.flush()


# --------------------------------------------------------------------------
# the trajectory
# --------------------------------------------------------------------------
def checkpoint_trajectory(
    checkpoints,
    X,
    y,
    *,
    scorers=("logme", "linear_probe"),
    finetune=None,
    X_test=None,
    y_test=None,
    task="auto",
    cache_dir=None,
    resume=True,
    n_jobs=None,
    image_size=None,
    preprocessing=None,
    batch_size=64,
    device="auto",
    feature_cache=None,
    random_state=0,
    progress=False,
):
    """Score every checkpoint of a pre-training run frozen and fine-tuned.

    Each checkpoint is scored as a frozen feature extractor by every scorer
    (through :func:`~skdisco.selection.rank_models`: one extraction per
    checkpoint, cached and resumable, a failing checkpoint reported in its
    rows) and, with ``finetune``, fine-tuned on ``(X, y)`` with
    :class:`~skdisco.finetune.FineTuneClassifier` (or
    :class:`~skdisco.finetune.FineTuneRegressor` for a regression target) and
    scored on ``(X_test, y_test)``. The frozen extractor and the fine-tuner see
    the same weights and the same preprocessing.

    Parameters
    ----------
    checkpoints : dict or list of (label, model) pairs
        ``{epoch or label: model}``, in the order to report them. A model is
        one of what :func:`~skdisco.selection.rank_models` takes (a timm name,
        ``"ARCH=WEIGHTS_FILE"``, ``"ARCH=random"``, an offline weight package,
        a :class:`~skdisco.features.TimmFeatureExtractor` or
        :class:`~skdisco.features.TorchFeatureExtractor`) or a
        ``torch.nn.Module`` (a timm module is scored on its pooled pre-logits
        features). A label that is a number, or a string ending with one
        (``"epoch3"``), gives the ``epoch`` column.
    X : images
        Target images the scores (and the fine-tuning) use.
    y : array-like of shape (n_samples,)
        Their targets.
    scorers : str, estimator, list or dict, default=("logme", "linear_probe")
        Frozen-extractor scores, as :func:`~skdisco.selection.rank_models`
        takes them (``"linear_probe"`` is the cross-validated logistic
        regression accuracy, classification only).
    finetune : bool, dict or estimator, default=None
        ``None``/``False``: no fine-tuning. ``True``: the default fine-tuner
        for the task with ``image_size``, ``batch_size``, ``device`` and
        ``random_state`` from here; a dict: those plus its parameters (e.g.
        ``{"max_epochs": 3, "learning_rate": 0.01}``); a
        ``FineTuneClassifier``/``FineTuneRegressor``: cloned, its ``model``,
        ``weights`` and ``preprocessing`` set per checkpoint.
    X_test, y_test : images and array-like, default=None
        Held-out data the fine-tuned models are scored on (accuracy, or R²);
        required with ``finetune``.
    task : {"auto", "classification", "regression"}, default="auto"
        Which fine-tuner ``finetune=True`` or a dict builds; ``"auto"`` infers
        it from ``y``.
    cache_dir : str or path-like, default=None
        A :class:`~skdisco.utils.Store` folder keeping the frozen rows (as
        ``rank_models`` does) and one row per fine-tuned checkpoint, keyed by
        the checkpoint (file contents for weight files), the fine-tuner's
        parameters and the data; a re-run computes only what is missing.
    resume : bool, default=True
        Reuse the rows found in ``cache_dir`` (rows with errors are always
        recomputed).
    n_jobs : int, default=None
        Checkpoints processed in parallel (joblib semantics).
    image_size, preprocessing, batch_size, device, feature_cache
        Extraction parameters (see :class:`~skdisco.features.\
TimmFeatureExtractor`); ``image_size`` and ``preprocessing`` apply to the
        fine-tuning too.
    random_state : int, default=0
        Seed of the default fine-tuner.
    progress : bool, default=False
        A line on stderr as each checkpoint finishes.

    Returns
    -------
    trajectory : pandas.DataFrame
        One row per checkpoint and measure, checkpoints in the order given,
        frozen measures first: ``checkpoint`` (the label as a string),
        ``epoch`` (float, NaN for a non-numeric label), ``measure`` (scorer
        name, ``"finetune_accuracy"`` or ``"finetune_r2"``), ``kind``
        (``"frozen"`` or ``"finetune"``), ``value`` (NaN when it failed),
        ``time_s`` (the checkpoint's extraction and scoring, or its
        fine-tuning), ``error`` (None when all went well), ``from_cache``.

    See Also
    --------
    plot_checkpoint_trajectory : Frozen scores against fine-tuning over epochs.
    skdisco.selection.rank_models : The frozen scores of many models.
    skdisco.finetune.FineTuneClassifier : The fine-tuning.

    Examples
    --------
    Three "checkpoints": one random initialisation twice, and another seed.

    >>> import timm
    >>> import torch
    >>> from skdisco.analysis import checkpoint_trajectory
    >>> from skdisco.datasets import load_digit_images
    >>> X, y = load_digit_images(60)
    >>> _ = torch.manual_seed(0)
    >>> a = timm.create_model("test_convnext", num_classes=0)
    >>> b = timm.create_model("test_convnext", num_classes=0)
    >>> traj = checkpoint_trajectory({1: a, 2: a, 3: b}, X, y, scorers="logme",
    ...                              image_size=32)
    >>> traj[["checkpoint", "epoch", "measure", "kind"]]
      checkpoint  epoch measure    kind
    0          1    1.0   logme  frozen
    1          2    2.0   logme  frozen
    2          3    3.0   logme  frozen
    >>> bool(traj["value"].iloc[0] == traj["value"].iloc[1])
    True
    """
    import pandas as pd

    from ..selection import rank_models
    from ..selection._registry import resolve_scorers
    from ..utils._store import Store
    from ._models import frozen_spec

    items = resolve_checkpoints(checkpoints)
    scorer_map = resolve_scorers(scorers)
    if y is None:
        raise ValueError("y (the target of the target task) is required.")
    y = np.asarray(y)
    params = dict(
        image_size=image_size,
        batch_size=batch_size,
        device=device,
        random_state=random_state,
    )
    template = _finetune_template(finetune, y, task, params)
    if template is not None:
        if X_test is None or y_test is None:
            raise ValueError(
                "finetune needs held-out data to score the fine-tuned models: "
                "pass X_test and y_test."
            )
        if len(X_test) != len(y_test):
            raise ValueError(
                f"X_test holds {len(X_test)} images but y_test has {len(y_test)} "
                "targets; pass one target per image."
            )
    extraction = dict(
        image_size=image_size,
        preprocessing=preprocessing,
        batch_size=batch_size,
        device=device,
        cache=feature_cache,
    )
    models = {label: frozen_spec(spec, **extraction) for label, _, spec in items}
    ranking = rank_models(
        models,
        X,
        y,
        scorers=scorer_map,
        n_jobs=n_jobs,
        cache_dir=cache_dir,
        resume=resume,
        image_size=image_size,
        batch_size=batch_size,
        device=device,
        feature_cache=feature_cache,
        progress="models" if progress else False,
    ).set_index("model")
    records = []
    for label, epoch, _ in items:
        row = ranking.loc[label]
        for sname in scorer_map:
            value = float(row[sname])
            records.append(
                dict(
                    checkpoint=label,
                    epoch=epoch,
                    measure=sname,
                    kind="frozen",
                    value=value,
                    time_s=float(row["time_s"]),
                    error=None if math.isfinite(value) else row["error"],
                    from_cache=bool(row["from_cache"]),
                )
            )
    if template is not None:
        store = Store(cache_dir) if cache_dir is not None else None
        ft_params = {**extraction, "preprocessing": preprocessing}
        rows = _finetune_all(
            items,
            X,
            y,
            X_test,
            np.asarray(y_test),
            template,
            ft_params,
            store,
            resume,
            n_jobs,
            progress,
        )
        measure = _measure_name(template)
        for label, epoch, _ in items:
            row = rows[label]
            records.append(
                dict(
                    checkpoint=label,
                    epoch=epoch,
                    measure=measure,
                    kind="finetune",
                    value=math.nan if row["value"] is None else row["value"],
                    time_s=row["time_s"],
                    error=row["error"],
                    from_cache=bool(row.get("from_cache", False)),
                )
            )
    order = {label: i for i, (label, _, _) in enumerate(items)}
    table = pd.DataFrame.from_records(records)
    table["_order"] = table["checkpoint"].map(order)
    table["_kind"] = (table["kind"] == "finetune").astype(int)
    table = table.sort_values(["_order", "_kind"], kind="stable")
    table = table.drop(columns=["_order", "_kind"]).reset_index(drop=True)
    table["epoch"] = table["epoch"].astype("float64")
    table["value"] = table["value"].astype("float64")
    table["error"] = pd.Series(
        [None if e is None or e != e else e for e in table["error"]], dtype=object
    )
    return table


# --------------------------------------------------------------------------
# the figure
# --------------------------------------------------------------------------
def plot_checkpoint_trajectory(trajectory, *, normalize=False, ax=None):
    """Frozen-extractor scores against fine-tuning, over pre-training epochs.

    Deng et al.'s figure: each frozen measure (solid lines) and the fine-tuned
    test score (dashed, on a twin right axis) against the checkpoint's epoch,
    so a frozen score peaking at a middle checkpoint while fine-tuning keeps
    rising shows at a glance.

    Parameters
    ----------
    trajectory : pandas.DataFrame
        What :func:`checkpoint_trajectory` returns.
    normalize : bool, default=False
        Rescale every measure to [0, 1] (min to max over the checkpoints) and
        draw all on one axis instead of twin axes.
    ax : matplotlib Axes, default=None
        Where to draw (the frozen measures' axis); ``None`` creates a figure.

    Returns
    -------
    ax : matplotlib Axes
        The axes of the frozen measures (the fine-tuning's twin axis, when
        drawn, is ``ax.right_ax``). Checkpoints without a numeric epoch are
        placed at their position in the table, labelled.

    See Also
    --------
    checkpoint_trajectory : The table this draws.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from skdisco.analysis import plot_checkpoint_trajectory
    >>> traj = pd.DataFrame({
    ...     "checkpoint": ["1", "3", "6"] * 2, "epoch": [1.0, 3.0, 6.0] * 2,
    ...     "measure": ["linear_probe"] * 3 + ["finetune_accuracy"] * 3,
    ...     "kind": ["frozen"] * 3 + ["finetune"] * 3,
    ...     "value": [0.8, 0.9, 0.85, 0.90, 0.93, 0.95], "error": None})
    >>> ax = plot_checkpoint_trajectory(traj)
    >>> [line.get_label() for line in ax.get_lines()]
    ['linear_probe (frozen)']
    >>> [line.get_label() for line in ax.right_ax.get_lines()]
    ['finetune_accuracy (fine-tuned)']
    """
    from ..selection._plot import _pyplot
    from ._layers import _min_max

    needed = {"checkpoint", "epoch", "measure", "kind", "value"}
    if not needed <= set(getattr(trajectory, "columns", ())):
        raise ValueError(
            "trajectory must be what checkpoint_trajectory returns, with columns "
            f"{sorted(needed)}."
        )
    if len(trajectory) == 0:
        raise ValueError("trajectory is empty; there is nothing to plot.")
    labels = list(dict.fromkeys(trajectory["checkpoint"]))
    epochs = trajectory.drop_duplicates("checkpoint").set_index("checkpoint")["epoch"]
    numeric = bool(epochs.notna().all())
    x_of = (
        {c: float(epochs[c]) for c in labels}
        if numeric
        else {c: float(i) for i, c in enumerate(labels)}
    )
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.8))
    frozen = trajectory[trajectory["kind"] == "frozen"]
    tuned = trajectory[trajectory["kind"] == "finetune"]
    right = ax if normalize or frozen.empty else ax.twinx()
    handles = []
    for axis, part, style, what in (
        (ax, frozen, "-", "frozen"),
        (right, tuned, "--", "fine-tuned"),
    ):
        for measure in dict.fromkeys(part["measure"]):
            rows = part[part["measure"] == measure]
            x = rows["checkpoint"].map(x_of).to_numpy(dtype=float)
            values = rows["value"].to_numpy(dtype=float)
            if normalize:
                values = _min_max(values)
            order = np.argsort(x, kind="stable")
            (line,) = axis.plot(
                x[order],
                values[order],
                style,
                marker="o",
                label=f"{measure} ({what})",
            )
            handles.append(line)
    ax.set_xlabel("pre-training epoch" if numeric else "checkpoint")
    if not numeric:
        ax.set_xticks([x_of[c] for c in labels])
        ax.set_xticklabels(labels)
    ax.set_ylabel("score (min-max normalised)" if normalize else "frozen score")
    if right is not ax:
        right.set_ylabel("fine-tuned test score")
        ax.right_ax = right
    ax.legend(handles=handles, fontsize="small", loc="best")
    ax.set_title("Frozen extractor vs fine-tuning over pre-training")
    ax.grid(alpha=0.3)
    return ax
