"""Input validation shared by every transferability function and scorer.

Every check raises a plain :class:`ValueError` whose sentence names the problem and,
where possible, what to do about it. Nothing here computes a score.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils import check_array, column_or_1d
from sklearn.utils.multiclass import type_of_target

from ._source import as_feature_source, is_device_tensor, is_out_of_core
from ._store import is_tensor

TASKS = ("classification", "regression")

#: A numeric target is not read as class labels when it has more than
#: ``MIN_MANY_VALUES`` distinct values, more than ``n_samples /
#: MAX_SAMPLES_PER_VALUE`` of them, and some value occurs only once.
MAX_SAMPLES_PER_VALUE = 3
MIN_MANY_VALUES = 20


def as_numpy(a):
    """``a`` as a NumPy array when it is a torch tensor; anything else unchanged.

    A tensor is detached and moved to the CPU first, so CUDA tensors are
    accepted too. torch is never imported here: a tensor is recognised by its
    type's module, and only when torch is already loaded.

    Parameters
    ----------
    a : object
        Any array-like, possibly a ``torch.Tensor``.

    Returns
    -------
    a : object
        ``a.detach().cpu().numpy()`` for a tensor, else ``a`` itself.

    Examples
    --------
    >>> from skdisco.utils._validation import as_numpy
    >>> as_numpy([1, 2])
    [1, 2]
    """
    if is_tensor(a):
        return a.detach().cpu().numpy()
    return a


def plain_value(value):
    """A NumPy scalar or array as the Python value it holds, for messages.

    ``repr(plain_value(np.float64(25.0)))`` is ``'25.0'``, not
    ``'np.float64(25.0)'``; arrays become lists; anything else is unchanged.

    Parameters
    ----------
    value : object
        Value to show.

    Returns
    -------
    value : object
        The plain Python value.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.utils._validation import plain_value
    >>> plain_value(np.str_("zero")), plain_value(np.arange(2))
    ('zero', [0, 1])
    """
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    return value


def check_label_values(y, name="y"):
    """Raise a ValueError when labels hold ``None`` or mix strings and numbers.

    Parameters
    ----------
    y : ndarray
        Labels (any dtype; only object arrays can hold either problem).
    name : str, default="y"
        Name used in error messages.

    Raises
    ------
    ValueError
        If an entry is ``None`` (a missing label), or if some entries are
        strings and others are not (``np.unique`` cannot order them).

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.utils._validation import check_label_values
    >>> check_label_values(np.array(["a", "b"], dtype=object))
    """
    if getattr(y, "dtype", None) is None or y.dtype.kind != "O":
        return
    values = y.ravel()
    if any(v is None for v in values):
        raise ValueError(
            f"{name} contains missing labels (None); every sample needs one."
        )
    is_str = np.fromiter((isinstance(v, (str, bytes)) for v in values), bool)
    if is_str.any() and not is_str.all():
        text = values[np.flatnonzero(is_str)[0]]
        other = values[np.flatnonzero(~is_str)[0]]
        raise ValueError(
            f"{name} mixes strings and numbers (e.g. {plain_value(text)!r} and "
            f"{plain_value(other)!r}); give every label the same type, for instance "
            "all strings."
        )


def _many_valued(y, classes, counts):
    """True when a numeric target has too many distinct values to be classes."""
    if y.dtype.kind not in "iuf":
        return False
    n_values = classes.shape[0]
    return bool(
        n_values > MIN_MANY_VALUES
        and n_values * MAX_SAMPLES_PER_VALUE > y.shape[0]
        and np.any(counts == 1)
    )


def _many_valued_summary(classes, counts, n_samples):
    return (
        f"y has {classes.shape[0]} distinct values over {n_samples} samples "
        f"({int(np.sum(counts == 1))} seen once), which looks like an "
        "integer-valued regression target, not class labels (numeric labels "
        f"with more than {MIN_MANY_VALUES} values, more than one per "
        f"{MAX_SAMPLES_PER_VALUE} samples and some seen once are not read as "
        "classes)"
    )


def check_features(
    X,
    *,
    name="features",
    min_samples=2,
    dtype=None,
    out_of_core=False,
    n_samples=None,
    device=None,
    why=None,
):
    """Validate a feature matrix and return it as a float ndarray.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Feature matrix (a torch tensor, on any device, is accepted). float32
        input stays float32 (no copy); anything else numeric becomes float64.
    name : str, default="features"
        Name used in error messages.
    min_samples : int, default=2
        Fewest rows accepted.
    dtype : dtype or list of dtypes, default=None
        Accepted dtypes; ``None`` means ``[np.float64, np.float32]``.
    out_of_core : bool or str, default=False
        Whether the caller reads features in row blocks: then out-of-core
        features (a Dask array, zarr or HDF5 array, an iterable of chunks; see
        :func:`~skdisco.utils.is_out_of_core`) are returned as a
        :class:`~skdisco.utils.FeatureSource`, checked block by block as they
        are read. Otherwise they are refused with a ValueError that suggests
        :func:`~skdisco.utils.subsample`; a string names the method there.
    n_samples : int, default=None
        Expected number of rows of out-of-core features (the length of ``y``).
    device : {"cpu", "cuda", "auto"} or str, default=None
        With ``out_of_core=True``: the torch device the caller's passes over
        the rows run on (see :func:`~skdisco.utils.as_feature_source`); any
        features, in memory or not, are then returned as a ``FeatureSource``
        on it. A tensor off the CPU is returned as a source on its own device
        even with ``device=None`` (it is not copied to the host).
    why : str, default=None
        For a caller that refuses out-of-core features: what needs every
        sample at once, said in the error.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features) or FeatureSource
        Validated array, float64 or float32 (a ``FeatureSource`` for
        out-of-core features with ``out_of_core=True``, and for any features
        with a ``device``).

    Raises
    ------
    ValueError
        If ``X`` is not 2-D, is empty, is not numeric, or holds NaN or inf, or
        is out of core for a caller that needs it in memory.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.utils import check_features
    >>> check_features(np.ones((3, 2), dtype=np.float32)).dtype
    dtype('float32')
    """
    if dtype is None:
        dtype = [np.float64, np.float32]
    if out_of_core is True and (device is not None or is_device_tensor(X)):
        if not (is_out_of_core(X) or is_tensor(X)):
            X = check_features(X, name=name, min_samples=min_samples, dtype=dtype)
        return _check_source(X, name, min_samples, n_samples, device)
    if is_out_of_core(X):
        if out_of_core is True:
            return _check_source(X, name, min_samples, n_samples)
        raise out_of_core_error(out_of_core or None, name, why=why)
    X = as_numpy(X)
    if hasattr(X, "dtype") and getattr(X.dtype, "kind", None) in tuple("OSUV"):
        _reject_non_numeric(X, name)
    try:
        X = check_array(
            X,
            dtype=dtype,
            ensure_2d=True,
            ensure_all_finite=True,
            ensure_min_samples=min_samples,
            ensure_min_features=1,
            input_name=name,
        )
    except ValueError as exc:
        msg = str(exc)
        if "could not convert" in msg or "Unable to convert" in msg:
            raise ValueError(
                f"{name} must be a numeric matrix; got values that are not numbers "
                f"({msg})."
            ) from exc
        raise
    return X


def _check_source(X, name, min_samples, n_samples, device=None):
    source = as_feature_source(X, n_samples=n_samples, name=name, device=device)
    if source.n_samples is not None and source.n_samples < min_samples:
        raise ValueError(
            f"{name} have {source.n_samples} sample(s); at least {min_samples} "
            "are needed."
        )
    if source.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be numeric; got dtype {source.dtype}.")
    return source


def out_of_core_error(method, name="features", why=None):
    """The ValueError for out-of-core features given to a score that needs them whole.

    Parameters
    ----------
    method : str or None
        The score's name, for the message.
    name : str, default="features"
        Name of the features.
    why : str, default=None
        What needs every sample at once (e.g. "its k-nearest-neighbour graph").

    Returns
    -------
    error : ValueError
        The error to raise; it suggests :func:`~skdisco.utils.subsample`.

    Examples
    --------
    >>> from skdisco.utils._validation import out_of_core_error
    >>> str(out_of_core_error("PARC", why="its N × N correlations"))[:40]
    'PARC needs all features in memory at onc'
    """
    who = method or "This computation"
    reason = f" ({why})" if why else ""
    return ValueError(
        f"{who} needs all {name} in memory at once{reason}, so it cannot read "
        "out-of-core features (a Dask array, zarr/HDF5 array or iterable of "
        "chunks) block by block. Score a random subset: X_sub, y_sub = "
        "skdisco.utils.subsample(X, y, n_samples=20_000) reads only the chosen "
        "rows (stratified by class); or pass an in-memory array or a "
        "numpy.memmap if the features fit."
    )


def _reject_non_numeric(X, name):
    try:
        np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be a numeric matrix; got dtype {X.dtype} with values that "
            "are not numbers."
        ) from exc


def check_consistent_samples(X, y, *, names=("features", "y")):
    """Raise a ValueError unless ``X`` and ``y`` have the same number of rows.

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)
        First array.
    y : array-like of shape (n_samples, ...)
        Second array.
    names : tuple of two str, default=("features", "y")
        Names of ``X`` and ``y`` in the error message.

    Raises
    ------
    ValueError
        If the numbers of rows differ.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.utils import check_consistent_samples
    >>> check_consistent_samples(np.ones((3, 2)), np.zeros(3))
    """
    n_x, n_y = _num_rows(X), _num_rows(y)
    if n_x != n_y:
        raise ValueError(
            f"{names[0]} has {n_x} samples but {names[1]} has {n_y}: they must "
            "describe the same samples, one row each."
        )


def num_rows(a):
    """Number of rows of an array-like (its first dimension), without converting it.

    Parameters
    ----------
    a : array-like, Dask array or sequence
        The object.

    Returns
    -------
    n : int
        ``a.shape[0]``, or ``len(a)``.

    Examples
    --------
    >>> from skdisco.utils._validation import num_rows
    >>> num_rows([[1, 2], [3, 4], [5, 6]])
    3
    """
    return _num_rows(a)


def _num_rows(a):
    shape = getattr(a, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    return len(a)


def infer_task(y, task="auto"):
    """Decide whether ``y`` is a classification or a regression target.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Target.
    task : {"auto", "classification", "regression"}, default="auto"
        ``"auto"`` uses :func:`sklearn.utils.multiclass.type_of_target`: binary
        and multiclass labels are classification; continuous values and
        multi-label indicator matrices are regression (a multi-label matrix is
        scored as one binary regression target per column, as LogME advises).

    Returns
    -------
    task : {"classification", "regression"}
        The kind of target.

    Raises
    ------
    ValueError
        With ``task="auto"``: when ``y`` holds ``None`` or mixes strings and
        numbers, when its kind cannot be told, and when a numeric ``y`` looks
        like an integer-valued regression target rather than class labels:
        it has more than 20 distinct values, more than a third of its samples
        (``n_classes > max(20, n_samples / 3)``), and at least one value occurs
        only once (scikit-learn's ``load_diabetes`` target: 214 values over 442
        samples, 84 seen once).
        Pass ``task="regression"`` or ``task="classification"`` to decide.

    Examples
    --------
    >>> from skdisco.utils import infer_task
    >>> infer_task(["cat", "dog", "cat"])
    'classification'
    >>> infer_task([0.5, 1.25, 3.0])
    'regression'
    """
    if task in TASKS:
        return task
    if task != "auto":
        raise ValueError(
            "task must be 'auto', 'classification' or 'regression'; got "
            f"{plain_value(task)!r}."
        )
    return auto_task(y)


def auto_task(y, *, refuse_many_valued=True):
    """:func:`infer_task` with ``task="auto"``; optionally keep many-valued labels.

    With ``refuse_many_valued=False`` a numeric target with too many classes
    for its size is returned as ``"classification"``, for a caller that scores
    classification only and refuses it with its own message
    (:func:`check_classification_target`).
    """
    y_arr = np.asarray(as_numpy(y))
    if y_arr.dtype.kind == "f" and not np.all(np.isfinite(y_arr)):
        raise ValueError("y contains NaN or infinity; every target must be finite.")
    check_label_values(y_arr)
    kind = type_of_target(y_arr, input_name="y")
    if refuse_many_valued and kind == "multiclass" and y_arr.ndim <= 2:
        flat = y_arr.ravel()
        classes, counts = np.unique(flat, return_counts=True)
        if _many_valued(flat, classes, counts):
            raise ValueError(
                f"{_many_valued_summary(classes, counts, flat.shape[0])}. Pass "
                "task='regression' to score it as a regression target, or "
                "task='classification' if the values are class labels."
            )
    if kind in ("binary", "multiclass"):
        return "classification"
    if kind in ("continuous", "continuous-multioutput", "multilabel-indicator"):
        return "regression"
    if kind == "multiclass-multioutput":
        raise ValueError(
            "y is a matrix of multi-class labels (multiclass-multioutput), which no "
            "transferability score here defines; score each column separately, or "
            "pass task='regression' to treat the columns as real-valued targets."
        )
    raise ValueError(
        f"Unknown label type: cannot tell what kind of target y is (type_of_target "
        f"says {kind!r}); pass "
        "a 1-D label vector for classification or a numeric array for regression."
    )


def check_classification_target(
    y, n_samples=None, *, min_samples_per_class=1, allow_many_classes=False
):
    """Validate class labels and encode them as ``0, ..., n_classes - 1``.

    Labels may be strings or any integers (gaps and offsets included); they are
    remapped in sorted order, never read as "number of classes = max label + 1".
    A numeric ``y`` with too many classes for its size -- more than 20 distinct
    values, more than a third of its samples (``n_classes > max(20, n_samples /
    3)``), and at least one value seen once, as an integer-valued regression
    target has (scikit-learn's ``load_diabetes``: 214 values over 442 samples)
    -- is refused unless ``allow_many_classes``; string labels are always taken
    as classes.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels.
    n_samples : int, default=None
        Expected number of samples (checked when given).
    min_samples_per_class : int, default=1
        Fewest samples any class may have.
    allow_many_classes : bool, default=False
        Accept a numeric ``y`` with too many classes for its size (the caller
        was told explicitly that ``y`` holds class labels).

    Returns
    -------
    y_encoded : ndarray of shape (n_samples,), dtype int64
        Labels in ``0 .. n_classes - 1``.
    classes : ndarray of shape (n_classes,)
        Original labels in sorted order; ``classes[y_encoded]`` recovers ``y``.

    Raises
    ------
    ValueError
        On a length mismatch, missing (``None``) or non-finite labels, labels
        mixing strings and numbers, real-valued (continuous) labels, a numeric
        target with too many classes for its size, a single class, or a class
        with fewer than ``min_samples_per_class`` samples.

    Examples
    --------
    >>> from skdisco.utils import check_classification_target
    >>> check_classification_target([42, 3, 42, 3])
    (array([1, 0, 1, 0]), array([ 3, 42]))
    """
    y = np.asarray(as_numpy(y))
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(
            f"Classification labels must be a 1-D vector; got an array of shape "
            f"{y.shape}."
        )
    y = column_or_1d(y)
    if n_samples is not None and y.shape[0] != n_samples:
        raise ValueError(
            f"features has {n_samples} samples but y has {y.shape[0]}: they must "
            "describe the same samples, one row each."
        )
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise ValueError("y contains NaN or infinity; every label must be finite.")
    if y.dtype.kind == "f" and np.any(y != np.round(y)):
        example = y[np.flatnonzero(y != np.round(y))[0]]
        raise ValueError(
            "Unknown label type: continuous. y holds real values (e.g. "
            f"{example:.6g}), not class labels; this method scores classification "
            "targets only. For a regression target use LogME or DISCO (they "
            "accept real-valued y), or pass integer or string class labels."
        )
    check_label_values(y)
    classes, y_encoded = np.unique(y, return_inverse=True)
    if classes.shape[0] < 2:
        raise ValueError(
            f"y has a single class ({plain_value(classes[0])!r}); a transferability "
            "score needs at least two classes."
        )
    counts = np.bincount(y_encoded, minlength=classes.shape[0])
    if not allow_many_classes and _many_valued(y, classes, counts):
        raise ValueError(
            f"{_many_valued_summary(classes, counts, y.shape[0])}; this method "
            "scores classification targets only. If the values are class labels, "
            "pass them as strings."
        )
    if min_samples_per_class > 1:
        small = np.flatnonzero(counts < min_samples_per_class)
        if small.size:
            shown = ", ".join(
                f"{plain_value(classes[i])!r} ({counts[i]})" for i in small[:5]
            )
            raise ValueError(
                f"Every class needs at least {min_samples_per_class} samples; these "
                f"have fewer: {shown}. Remove them or collect more samples."
            )
    return y_encoded.astype(np.int64, copy=False), classes


def check_regression_target(y, n_samples=None):
    """Validate a regression target and return it as float64 of shape (N, K).

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Real-valued target(s); a multi-label indicator matrix is accepted as
        ``n_targets`` binary targets.
    n_samples : int, default=None
        Expected number of samples (checked when given).

    Returns
    -------
    Y : ndarray of shape (n_samples, n_targets), dtype float64
        The target, one column per target.

    Examples
    --------
    >>> from skdisco.utils import check_regression_target
    >>> check_regression_target([1.0, 2.5]).shape
    (2, 1)
    """
    y_arr = np.asarray(as_numpy(y))
    if y_arr.dtype.kind not in "biuf":
        try:
            y_arr = y_arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                "A regression target must be numeric; got values that are not numbers."
            ) from exc
    if y_arr.ndim == 1:
        y_arr = y_arr[:, None]
    if y_arr.ndim != 2:
        raise ValueError(
            f"A regression target must have shape (n_samples,) or (n_samples, "
            f"n_targets); got {y_arr.shape}."
        )
    if n_samples is not None and y_arr.shape[0] != n_samples:
        raise ValueError(
            f"features has {n_samples} samples but y has {y_arr.shape[0]}: they "
            "must describe the same samples, one row each."
        )
    if y_arr.shape[1] == 0:
        raise ValueError("y has no target columns.")
    Y = np.asarray(y_arr, dtype=np.float64)
    if not np.all(np.isfinite(Y)):
        raise ValueError("y contains NaN or infinity; every target must be finite.")
    return Y


def check_scalar_positive_int(value, name, *, min_value=1):
    """Validate an integer parameter and return it as ``int``.

    Parameters
    ----------
    value : object
        The parameter's value.
    name : str
        The parameter's name, for the error message.
    min_value : int, default=1
        Smallest value accepted.

    Returns
    -------
    value : int
        ``value`` as a Python ``int``.

    Raises
    ------
    ValueError
        If ``value`` is not an integer (booleans are not) or is below
        ``min_value``.

    Examples
    --------
    >>> from skdisco.utils import check_scalar_positive_int
    >>> check_scalar_positive_int(3, "n_groups")
    3
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer; got {plain_value(value)!r}.")
    if value < min_value:
        raise ValueError(f"{name} must be at least {min_value}; got {value}.")
    return int(value)
