"""``skdisco analyze parameters``: layer-wise transferability from the weights.

Two ways in: three weight files (``--random R --pretrained A --finetuned B``),
or a model and target data (``MODEL --data ... --finetune-epochs N``), which
fine-tunes the model first
(:func:`~skdisco.analysis.finetune_parameter_transferability`).
"""

from __future__ import annotations

import sys

HELP = "layer-wise transferability from the weights, T_l (Chen et al. 2022)"

DESCRIPTION = (
    "Per layer group, T_l = D(random, finetuned) / D(pretrained, finetuned) with "
    "D the mean absolute difference of the convolution and linear weights "
    "(Chen et al. 2022). Give three weight files (--random, --pretrained, "
    "--finetuned), or a MODEL (as for 'skdisco rank') and --data to fine-tune "
    "it first (--data digits: scikit-learn's digits). Writes the table "
    "(--output CSV) and the figure (--plot PNG)."
)


def add_arguments(parser, add_data_options):
    """Options of ``skdisco analyze parameters``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The instrument's parser.
    add_data_options : callable
        Adds ``skdisco rank``'s data options.
    """
    parser.add_argument(
        "model",
        nargs="?",
        metavar="MODEL",
        help="model to fine-tune (timm name, weight package, ARCH=WEIGHTS_FILE, "
        "ARCH=random); with --data",
    )
    files = parser.add_argument_group("weights given as files")
    files.add_argument("--random", metavar="FILE", help="random initialisation θ_r")
    files.add_argument("--pretrained", metavar="FILE", help="pre-trained weights θ_A")
    files.add_argument("--finetuned", metavar="FILE", help="θ_A fine-tuned, θ_B")
    files.add_argument(
        "--finetuned-from-random",
        metavar="FILE",
        help="θ_r fine-tuned on the same target: then the numerator",
    )
    files.add_argument(
        "--arch",
        metavar="TIMM_NAME",
        help="timm architecture of the files: its blocks group the layers and "
        "its classifier is the head (default: one group per layer)",
    )
    add_data_options(parser, required=False)
    tune = parser.add_argument_group("fine-tuning (with MODEL --data)")
    tune.add_argument("--finetune-epochs", type=int, default=3, metavar="N")
    tune.add_argument("--learning-rate", type=float, default=0.01)
    tune.add_argument(
        "--from-random",
        action="store_true",
        help="also fine-tune the random initialisation and use it as numerator",
    )
    tune.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--groups",
        choices=("auto", "layer"),
        default="auto",
        help="auto: timm's blocks; layer: one group per conv/linear layer",
    )
    parser.add_argument(
        "--head", metavar="PREFIX", help="classifier's parameter prefix"
    )
    parser.add_argument("--output", metavar="CSV", help="write the table here")
    parser.add_argument("--plot", metavar="PNG", help="draw T_l against depth")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def _progress(args, text):
    if not args.quiet:
        print(f"[parameters] {text}", file=sys.stderr, flush=True)


def _table(args):
    from ..cli import InputError
    from ._parameters import (
        finetune_parameter_transferability,
        parameter_transferability,
    )

    file_mode = any([args.random, args.pretrained, args.finetuned])
    if file_mode:
        if args.model or args.data:
            raise InputError("give either weight files or MODEL with --data, not both")
        missing = [
            flag
            for flag, v in (
                ("--random", args.random),
                ("--pretrained", args.pretrained),
                ("--finetuned", args.finetuned),
            )
            if not v
        ]
        if missing:
            raise InputError(f"weight files also need {' '.join(missing)}")
        _progress(args, "comparing the weight files")
        return parameter_transferability(
            args.random,
            args.pretrained,
            args.finetuned,
            finetuned_from_random=args.finetuned_from_random,
            groups=args.groups,
            head=args.head,
            model=args.arch,
        ), None
    if not args.model or not args.data:
        raise InputError(
            "give MODEL and --data (fine-tune, then measure), or --random, "
            "--pretrained and --finetuned weight files"
        )
    if args.finetune_epochs < 1:
        raise InputError("--finetune-epochs must be at least 1")
    from ..cli import load_data

    X, y = load_data(args)
    from sklearn.model_selection import train_test_split

    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.25, random_state=args.seed
    )
    _progress(
        args,
        f"fine-tuning {args.model} on {len(y_tr)} images for "
        f"{args.finetune_epochs} epochs"
        + (" (and from random)" if args.from_random else ""),
    )
    params = {
        "max_epochs": args.finetune_epochs,
        "learning_rate": args.learning_rate,
        "batch_size": args.batch_size,
        "image_size": args.image_size,
        "device": args.device,
    }
    return finetune_parameter_transferability(
        args.model,
        X_tr,
        y_tr,
        X_test=X_te,
        y_test=y_te,
        task=args.task,
        from_random=args.from_random,
        random_state=args.seed,
        finetune_params=params,
        groups=args.groups,
        head=args.head,
    )


def run(args):
    """Run the instrument; returns the exit status.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options.

    Returns
    -------
    status : int
        0 on success.
    """
    from ..cli import InputError, _check_output

    _check_output(args.output, "--output")
    _check_output(args.plot, "--plot")
    try:
        frame, scores = _table(args)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    print(
        frame.drop(columns=["level"]).to_string(
            index=False, float_format=lambda v: f"{v:.4g}"
        )
    )
    if scores:
        for name, score in scores.items():
            print(f"fine-tuned from {name}: test score {score:.4f}")
    from ._cli import write_outputs
    from ._parameters import plot_parameter_transferability

    write_outputs(frame, args, plot_parameter_transferability, "parameter table")
    return 0
