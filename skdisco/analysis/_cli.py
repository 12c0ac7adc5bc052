"""``skdisco analyze INSTRUMENT``: the analysis instruments from the command line.

Each instrument lives in its own module ``skdisco/analysis/_cli_<name>.py``
defining ``HELP`` (one line), ``DESCRIPTION``, ``add_arguments(parser)`` and
``run(args) -> int`` (an exit status). This module only dispatches, so building
the parser imports neither torch nor the analysis code.
"""

from __future__ import annotations

import importlib

#: Sub-command -> module (relative to this package), in ``--help`` order.
INSTRUMENTS = {
    "spectrum": "._cli_spectrum",
    "checkpoints": "._cli_checkpoints",
    "layers": "._cli_layers",
    "parameters": "._cli_parameters",
    "landscape": "._cli_landscape",
}


def add_analyze_parser(sub, add_data_options):
    """Register ``analyze`` and its instruments on the top-level sub-parsers.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The ``skdisco`` sub-parsers.
    add_data_options : callable
        ``add_data_options(parser)`` adds the data options ``skdisco rank``
        has (``--data``, ``--image-size``, ``--batch-size``, ``--max-samples``,
        ``--device``, ``--task``), for the instruments that read images.
    """
    analyze = sub.add_parser(
        "analyze",
        help="why a model transfers: spectra, checkpoints, layers, parameters, "
        "landscape",
        description="Run one of the analysis instruments (skdisco.analysis) and "
        "write its table (CSV) and figure (PNG).",
    )
    inner = analyze.add_subparsers(
        dest="instrument", required=True, metavar="INSTRUMENT"
    )
    for name, module_name in INSTRUMENTS.items():
        module = importlib.import_module(module_name, __package__)
        p = inner.add_parser(name, help=module.HELP, description=module.DESCRIPTION)
        module.add_arguments(p, add_data_options)
        p.set_defaults(func=module.run)
    return analyze


def write_outputs(table, args, draw, what):
    """Write an instrument's ``table`` to ``--output`` and its figure to ``--plot``.

    Parameters
    ----------
    table : pandas.DataFrame
        The instrument's table.
    args : argparse.Namespace
        Parsed options with ``output`` and ``plot`` (either may be ``None``).
    draw : callable
        ``draw(table)`` returns the Axes (or Figure) of the figure.
    what : str
        What the table is, for the messages.
    """
    from ..cli import save_figure, write_table

    if args.output:
        write_table(table, args.output, what)
    if args.plot:
        save_figure(lambda: draw(table), args.plot)
