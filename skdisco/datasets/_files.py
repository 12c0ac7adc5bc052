"""Read features, labels and labelled image sets from the files people keep them in.

Features and labels come as ``.npy``, ``.csv`` (a header row) or ``.parquet``
(needs pyarrow); a labelled image set as a folder of class sub-folders, an
``.npz`` of images and labels, or a ``.csv`` of image paths and labels. Every
unreadable or malformed file is a ``ValueError`` naming the file and what to
change. The ``skdisco score`` and ``skdisco rank`` commands read their inputs
with these functions.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from ..utils._warnings import user_stacklevel

#: Column names :func:`load_labels` takes the labels from, in this order.
LABEL_COLUMNS = ("label", "labels", "y", "target")


def _read_table(path, what):
    """An array (.npy) or a DataFrame (.csv, .parquet) from ``path``."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{what} file {str(path)!r} does not exist.")
    suffix = path.suffix.lower()
    readers = {
        ".npy": lambda p: np.load(p, allow_pickle=False),
        ".csv": pd.read_csv,
        ".parquet": pd.read_parquet,
    }
    if suffix not in readers:
        raise ValueError(
            f"{what} file {str(path)!r}: unknown format {suffix!r}; use .npy, "
            ".csv or .parquet."
        )
    try:
        return readers[suffix](path)
    except Exception as exc:  # unreadable file
        if suffix == ".parquet" and isinstance(exc, ImportError):
            raise ValueError(
                f"Reading {path} needs a parquet engine: `pip install pyarrow` (or "
                "use .npy or .csv)."
            ) from exc
        raise ValueError(f"Cannot read {what} file {str(path)!r}: {exc}") from exc


def _drop_index_column(table, path, what):
    """``table`` without the unnamed row-index column ``DataFrame.to_csv()`` writes.

    A first column without a header (pandas reads it as ``"Unnamed: 0"``)
    holding ``0 .. n - 1`` is the row index, not data: it is dropped with a
    warning. An unnamed first column holding anything else is refused, since it
    cannot be told from data.
    """
    if not hasattr(table, "columns") or table.shape[1] == 0:
        return table
    first = table.columns[0]
    if not (first == "" or str(first).startswith("Unnamed: 0")):
        return table
    values = table.iloc[:, 0].to_numpy()
    if values.dtype.kind in "iuf" and np.array_equal(values, np.arange(len(table))):
        warnings.warn(
            f"{what} file {str(path)!r}: the first column has no header and holds "
            "0 .. n-1, the row index DataFrame.to_csv() writes; it is dropped, not "
            "read as data (write the file with index=False to silence this).",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
        return table.iloc[:, 1:]
    raise ValueError(
        f"{what} file {str(path)!r}: the first column has no header, like the row "
        "index DataFrame.to_csv() writes, but does not hold 0 .. n-1; name the "
        "column, or write the file with index=False."
    )


def load_features(path):
    """Read a 2-D table of features (samples x features) from a file.

    What ``skdisco score --features`` reads: one row per sample, one column per
    feature, as float64 whatever the file stores.

    Parameters
    ----------
    path : str or path-like
        A ``.npy`` array, a ``.csv`` file with a header row, or a ``.parquet``
        file (needs pyarrow). Every column is a feature, except a first column
        without a header holding ``0 .. n - 1`` (the row index
        ``DataFrame.to_csv()`` writes), which is dropped with a warning.

    Returns
    -------
    features : ndarray of shape (n_samples, n_features), dtype float64
        The table's values.

    Raises
    ------
    ValueError
        If the file does not exist, has another format, cannot be read, holds
        values that are not numbers or is not 2-D, or if its first column has
        no header but is not the row index ``0 .. n - 1``.

    See Also
    --------
    load_labels : The labels that go with the features.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from skdisco.datasets import load_features
    >>> path = os.path.join(tempfile.mkdtemp(), "features.npy")
    >>> np.save(path, np.arange(6.0).reshape(3, 2))
    >>> load_features(path)
    array([[0., 1.],
           [2., 3.],
           [4., 5.]])
    """
    table = _drop_index_column(_read_table(path, "features"), path, "features")
    try:
        array = np.asarray(table, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"features file {str(path)!r} holds values that are not numbers ({exc})."
        ) from exc
    if array.ndim != 2:
        raise ValueError(
            f"features file {str(path)!r} must hold a 2-D table (samples x "
            f"features); got shape {array.shape}."
        )
    return array


def load_labels(path):
    """Read labels (or regression targets), one per sample, from a file.

    What ``skdisco score --labels`` reads: the labels of the rows of a features
    file, strings or numbers.

    Parameters
    ----------
    path : str or path-like
        A ``.npy`` array, a ``.csv`` file with a header row, or a ``.parquet``
        file (needs pyarrow). From a table, the column named ``label``,
        ``labels``, ``y`` or ``target`` (the first of these present) is taken,
        else the only column; a table of several other columns is returned
        whole (multi-output targets). A first column without a header holding
        ``0 .. n - 1`` (the row index ``DataFrame.to_csv()`` writes) is
        dropped with a warning.

    Returns
    -------
    y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        The labels, of the file's dtype (strings stay strings).

    Raises
    ------
    ValueError
        If the file does not exist, has another format or cannot be read, or
        if its first column has no header but is not the row index
        ``0 .. n - 1``.

    See Also
    --------
    load_features : The features the labels go with.

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> from skdisco.datasets import load_labels
    >>> path = os.path.join(tempfile.mkdtemp(), "labels.csv")
    >>> pd.DataFrame({"id": [1, 2, 3], "label": ["cat", "dog", "cat"]}).to_csv(
    ...     path, index=False)
    >>> load_labels(path).tolist()
    ['cat', 'dog', 'cat']
    """
    table = _drop_index_column(_read_table(path, "labels"), path, "labels")
    if hasattr(table, "columns"):
        columns = list(table.columns)
        for name in LABEL_COLUMNS:
            if name in columns:
                return table[name].to_numpy()
        if len(columns) == 1:
            return table[columns[0]].to_numpy()
        return table.to_numpy()
    return np.asarray(table)


def load_images(path):
    """Read a labelled image set: a folder, an ``.npz`` or a ``.csv`` of paths.

    What ``skdisco rank --data`` reads. Files are listed, not decoded: a feature
    extractor decodes the images batch by batch.

    Parameters
    ----------
    path : str or path-like
        One of

        - a folder of class sub-folders, ``path/<class>/<image>``
          (:func:`skdisco.features.load_image_folder`);
        - an ``.npz`` file holding an image array ``images`` (or ``X``) and
          the labels ``labels`` (or ``y``);
        - a ``.csv`` file with columns ``path`` (image files, relative to the
          CSV file's folder or absolute) and ``label``.

    Returns
    -------
    images : ndarray or list of str
        The image array of an ``.npz``, else the image file paths (decoded
        batch by batch by a feature extractor).
    y : ndarray of shape (n_images,)
        The label of each image.

    Raises
    ------
    ValueError
        If ``path`` is neither a folder nor a file, has another format, cannot
        be read or lacks the arrays or columns above.

    See Also
    --------
    skdisco.features.load_image_folder : The folder layout alone.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from skdisco.datasets import load_images
    >>> path = os.path.join(tempfile.mkdtemp(), "images.npz")
    >>> np.savez(path, images=np.zeros((4, 8, 8, 3), np.uint8), labels=[0, 0, 1, 1])
    >>> images, y = load_images(path)
    >>> images.shape, y.tolist()
    ((4, 8, 8, 3), [0, 0, 1, 1])
    """
    path = Path(path)
    if path.is_dir():
        from ..features import load_image_folder

        return load_image_folder(path)
    if not path.is_file():
        raise ValueError(f"{str(path)!r} is neither a folder nor a file.")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _npz_images(path)
    if suffix == ".csv":
        return _csv_images(path)
    raise ValueError(
        f"{str(path)!r}: use a folder of class sub-folders, an .npz with 'images' "
        "and 'labels', or a .csv with 'path' and 'label' columns."
    )


def _npz_images(path):
    try:
        data = np.load(path, allow_pickle=False)
        keys = set(data.files)
    except Exception as exc:
        raise ValueError(f"Cannot read {str(path)!r}: {exc}") from exc
    with data:
        xk = next((k for k in ("images", "X") if k in keys), None)
        yk = next((k for k in ("labels", "y") if k in keys), None)
        if xk is None or yk is None:
            raise ValueError(
                f"{str(path)!r} must hold arrays 'images' (or 'X') and 'labels' "
                f"(or 'y'); it holds {sorted(keys)}."
            )
        try:
            return data[xk], data[yk]
        except Exception as exc:
            raise ValueError(f"Cannot read {str(path)!r}: {exc}") from exc


def _csv_images(path):
    import pandas as pd

    try:
        table = pd.read_csv(path)
    except Exception as exc:
        raise ValueError(f"Cannot read {str(path)!r}: {exc}") from exc
    if not {"path", "label"} <= set(table.columns):
        raise ValueError(
            f"{str(path)!r} must have columns 'path' and 'label' (image file "
            f"paths, relative to the file's folder); it has {list(table.columns)}."
        )
    base = path.parent
    paths = [str(p if os.path.isabs(p) else base / p) for p in table["path"]]
    return paths, table["label"].to_numpy()
