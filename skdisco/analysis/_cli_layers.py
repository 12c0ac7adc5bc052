"""``skdisco analyze layers``: the transferability of every block, one pass."""

from __future__ import annotations

import sys

HELP = "layer-wise transferability: score every block's pooled features"
DESCRIPTION = (
    "Pool the output of every block of MODEL (timm's forward_intermediates "
    "stages and the final pre-logits features, or the modules named by "
    "--layer) in one forward pass over the images, and score each layer with "
    "--scorer (default logme). MODEL as in 'skdisco rank'. Writes the table "
    "(--output CSV, one row per layer and scorer) and score against depth "
    "(--plot PNG)."
)


def add_arguments(parser, add_data_options):
    """Add the instrument's options to its sub-parser.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The ``layers`` sub-parser.
    add_data_options : callable
        Adds ``skdisco rank``'s data options.
    """
    from ..cli import _add_common

    parser.add_argument(
        "model",
        metavar="MODEL",
        help="timm name, offline weight package, ARCH=WEIGHTS_FILE or ARCH=random",
    )
    add_data_options(parser)
    parser.add_argument(
        "--layer",
        action="append",
        metavar="NAME",
        help="a module to score (repeat for several; an integer is a "
        "forward_intermediates stage); default: every stage and pre_logits",
    )
    parser.add_argument("--pooling", choices=("avg", "cls"), default="avg")
    _add_common(parser)
    parser.add_argument(
        "--feature-cache", metavar="DIR", help="on-disk cache of extracted features"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _layers(values):
    if values is None:
        return None
    if all(v.lstrip("-").isdigit() for v in values):
        return [int(v) for v in values]
    return list(values)


def run(args):
    """Run the instrument; returns the exit status.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options.

    Returns
    -------
    status : int
        0 on success, 1 when every score failed, 2 on bad input.
    """
    import pandas as pd

    from ..cli import (
        EXIT_ALL_FAILED,
        EXIT_OK,
        InputError,
        _check_output,
        _scorers,
        load_data,
    )
    from ._cli import write_outputs
    from ._layers import layerwise_scores, plot_layerwise_scores

    if args.scorer is None:
        args.scorer = ["logme"]
    scorer_map = _scorers(args)
    _check_output(args.output, "--output")
    _check_output(args.plot, "--plot")
    X, y = load_data(args)
    try:
        table = layerwise_scores(
            args.model,
            X,
            y,
            layers=_layers(args.layer),
            scorers=scorer_map,
            pooling=args.pooling,
            image_size=args.image_size,
            batch_size=args.batch_size,
            device=args.device,
            feature_cache=args.feature_cache,
            progress=not args.quiet,
        )
    except ValueError as exc:  # an unknown model, layer or pooling
        raise InputError(str(exc)) from exc
    wide = (
        table.set_index(["depth", "layer", "n_features", "scorer"])["score"]
        .unstack("scorer")[list(scorer_map)]
        .reset_index()
    )
    with pd.option_context("display.width", 160):
        print(wide.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    write_outputs(table, args, plot_layerwise_scores, "layer scores")
    if table["score"].isna().all():
        print("skdisco: every score failed; see the error column.", file=sys.stderr)
        return EXIT_ALL_FAILED
    return EXIT_OK
