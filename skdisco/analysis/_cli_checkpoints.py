"""``skdisco analyze checkpoints``: frozen scores against fine-tuning per checkpoint."""

from __future__ import annotations

import sys
from pathlib import Path

HELP = "frozen-extractor scores against fine-tuning over pre-training checkpoints"
DESCRIPTION = (
    "Score every checkpoint of a pre-training run as a frozen feature extractor "
    "(--scorer, default logme and linear_probe) and, with --finetune-epochs, by "
    "fine-tuning it on a training split and measuring its test accuracy (R² for "
    "regression): Deng et al. 2023's comparison, and Liu et al. 2019's "
    "transferability over pre-training. Checkpoints are given as in 'skdisco "
    "rank' (ARCH=WEIGHTS_FILE, ARCH=random, timm names, offline weight "
    "packages). Writes the table (--output CSV, one row per checkpoint and "
    "measure) and the figure (--plot PNG)."
)


def add_arguments(parser, add_data_options):
    """Add the instrument's options to its sub-parser.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The ``checkpoints`` sub-parser.
    add_data_options : callable
        Adds ``skdisco rank``'s data options.
    """
    from ..cli import _add_common, _n_jobs, _positive_int

    parser.add_argument(
        "checkpoints",
        nargs="+",
        metavar="SPEC",
        help="one checkpoint per argument, in pre-training order: "
        "ARCH=WEIGHTS_FILE (test_convnext=run/epoch3.pt), ARCH=random, a timm "
        "name or an offline weight package",
    )
    add_data_options(parser)
    parser.add_argument(
        "--labels",
        metavar="L1,L2,...",
        help="comma-separated checkpoint labels, one per SPEC (a label ending "
        "with a number gives its epoch: epoch1,epoch3); default: the weights "
        "file's name, else the spec",
    )
    _add_common(parser)
    parser.add_argument(
        "--finetune-epochs",
        type=_positive_int,
        metavar="N",
        help="also fine-tune each checkpoint for N epochs and report its test score",
    )
    parser.add_argument(
        "--test-fraction",
        type=_fraction,
        default=0.25,
        metavar="F",
        help="with --finetune-epochs: share of the images held out to test the "
        "fine-tuned models (stratified; default 0.25); the frozen scores use the "
        "rest",
    )
    parser.add_argument(
        "--learning-rate", type=float, default=0.01, help="fine-tuning learning rate"
    )
    parser.add_argument("--n-jobs", type=_n_jobs, default=None)
    parser.add_argument(
        "--cache-dir", metavar="DIR", help="keep finished rows here; a re-run resumes"
    )
    parser.add_argument(
        "--feature-cache", metavar="DIR", help="on-disk cache of extracted features"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def _fraction(text):
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 1")
    return value


def _labels(args):
    from ..cli import InputError

    if args.labels is not None:
        labels = [label.strip() for label in args.labels.split(",")]
        if len(labels) != len(args.checkpoints) or not all(labels):
            raise InputError(
                f"--labels gives {len(labels)} label(s) for "
                f"{len(args.checkpoints)} checkpoint(s); give one non-empty label "
                "per SPEC, comma-separated."
            )
    else:
        labels = []
        for spec in args.checkpoints:
            arch, sep, weights = spec.partition("=")
            labels.append(Path(weights).stem if sep and weights else spec)
    if len(set(labels)) != len(labels):
        raise InputError(
            f"Checkpoint labels {labels} repeat; pass distinct ones with --labels."
        )
    return labels


def _split(X, y, fraction):
    import numpy as np
    from sklearn.model_selection import train_test_split

    from ..cli import InputError
    from ..utils._validation import infer_task

    idx = np.arange(len(y))
    stratify = y if infer_task(y) == "classification" else None
    try:
        train, test = train_test_split(
            idx, test_size=fraction, random_state=0, stratify=stratify
        )
    except ValueError as exc:
        raise InputError(f"cannot hold out --test-fraction {fraction}: {exc}") from exc
    train, test = np.sort(train), np.sort(test)
    take = (
        (lambda rows: X[rows])
        if hasattr(X, "shape")
        else (lambda rows: [X[i] for i in rows])
    )
    return take(train), y[train], take(test), y[test]


def summary(table):
    """One line per checkpoint, one column per measure (the printed table).

    Parameters
    ----------
    table : pandas.DataFrame
        What :func:`~skdisco.analysis.checkpoint_trajectory` returns.

    Returns
    -------
    text : str
        The table as text.
    """
    import pandas as pd

    wide = table.pivot_table(
        index="checkpoint",
        columns="measure",
        values="value",
        sort=False,
        dropna=False,
    )
    wide = wide[list(dict.fromkeys(table["measure"]))]
    errors = table.groupby("checkpoint", sort=False)["error"].agg(
        lambda e: "; ".join(dict.fromkeys(x for x in e if x))
    )
    wide["error"] = errors
    wide = wide.reset_index()
    with pd.option_context("display.width", 160, "display.max_colwidth", 60):
        return wide.to_string(index=False, float_format=lambda v: f"{v:.4f}")


def run(args):
    """Run the instrument; returns the exit status.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options.

    Returns
    -------
    status : int
        0 on success, 1 when every measurement failed.
    """
    from ..cli import EXIT_ALL_FAILED, EXIT_OK, _check_output, _scorers
    from ._trajectory import checkpoint_trajectory, plot_checkpoint_trajectory

    if args.scorer is None:
        args.scorer = ["logme", "linear_probe"]
    scorer_map = _scorers(args)
    labels = _labels(args)
    _check_output(args.output, "--output")
    _check_output(args.plot, "--plot")
    from ..cli import load_data

    X, y = load_data(args)
    finetune, X_test, y_test = None, None, None
    if args.finetune_epochs is not None:
        X, y, X_test, y_test = _split(X, y, args.test_fraction)
        finetune = {
            "max_epochs": args.finetune_epochs,
            "learning_rate": args.learning_rate,
        }
    table = checkpoint_trajectory(
        list(zip(labels, args.checkpoints)),
        X,
        y,
        scorers=scorer_map,
        finetune=finetune,
        X_test=X_test,
        y_test=y_test,
        task=args.task,
        cache_dir=args.cache_dir,
        n_jobs=args.n_jobs,
        image_size=args.image_size,
        batch_size=args.batch_size,
        device=args.device,
        feature_cache=args.feature_cache,
        progress=not args.quiet,
    )
    print(summary(table))
    from ._cli import write_outputs

    write_outputs(table, args, plot_checkpoint_trajectory, "trajectory")
    if table["value"].isna().all():
        print(
            "skdisco: every measurement failed; see the error column.", file=sys.stderr
        )
        return EXIT_ALL_FAILED
    return EXIT_OK
