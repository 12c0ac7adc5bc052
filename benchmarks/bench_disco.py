"""Wall time of DISCO against our LogME on the same features, at every size.

Default: the size sweep of ``benchmarks/_sweep.py`` -- N from 200 to 10⁵ at
D = 2048, 512 and 1 280, C = 100, one and two BLAS threads, DISCO with its
defaults (cross-validated posterior, isotropic covariance, 2 groups, no centring,
hard-example sampling only above 20 000 samples... as ``disco`` sets it) and
LogME alternated within each repetition, the minimum of each over the
repetitions; the ratio DISCO / LogME is the figure (goal: at most 1.5 at every
N). The table is written to ``benchmarks/results/speed/disco.md``.

``--variants`` times the other readings at one D instead (the paper's in-sample
reading, the identity covariance, the older default, hard-example sampling at
25 %) with peak memory from one more, separate run per method under
``tracemalloc`` (numpy allocations), so O(d² + N·d) can be read off against the
size of the features.

Usage::

    python benchmarks/bench_disco.py                      # the full sweep
    python benchmarks/bench_disco.py --n 1000 20000 --d 2048 --threads 1
    python benchmarks/bench_disco.py --variants --n 5000 20000 --d 2048
"""

from __future__ import annotations

import argparse
import sys
import tracemalloc
import warnings
from pathlib import Path

# The checkout this script lives in is the one measured (and _sweep beside it).
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]


def _parse():
    from _sweep import add_sweep_arguments

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_sweep_arguments(p)
    p.add_argument("--variants", action="store_true",
                   help="time DISCO's other readings (first --d, first --threads)")
    return p.parse_args()


def _peak(fn):
    """Peak traced (numpy) allocation of one call, in bytes."""
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


VARIANTS = {
    "disco (default)": {},
    "disco (identity, previous default)": {"covariance": "identity"},
    "disco (paper: in-sample, shared, 4 groups)": {
        "n_groups": 4,
        "covariance": "shared",
        "posterior": "in_sample",
        "centering": False,
        "hard_examples": None,
    },
    "disco (old default: shared, 4 groups)": {
        "n_groups": 4,
        "covariance": "shared",
        "centering": True,
    },
    "disco (hard examples 25%)": {"hard_examples": 0.25},
}


def variants(args):
    """DISCO's readings against LogME at one D and thread count, with peak memory."""
    from _sweep import _Threads, best_times, environment_lines, make_features

    from skdisco.transferability import disco, logme

    d, threads = args.d[0], args.threads[0]
    print("\n".join(environment_lines()))
    print(f"BLAS threads = {threads}, d = {d}, C = {args.classes}, "
          f"min of {args.repeats} alternated repetitions")
    header = f"{'N':>7} {'method':<42} {'seconds':>8} {'x LogME':>8} {'peak MiB':>9}"
    print(header)
    print("-" * len(header))
    fns = {"logme": logme}
    for name, kw in VARIANTS.items():
        fns[name] = lambda X, y, kw=kw: disco(X, y, **kw)
    with _Threads(threads):
        for n in args.n:
            X, y = make_features(n, d, args.classes)
            best, _, scores = best_times(fns, X, y, args.repeats)
            for name, fn in fns.items():
                t = best[name]
                score = "" if name == "logme" else f"   score={scores[name]:.4f}"
                peak = _peak(lambda fn=fn, X=X, y=y: fn(X, y)) / 2**20
                print(f"{n:>7} {name:<42} {t:8.2f} {t / best['logme']:8.2f} "
                      f"{peak:9.0f}{score}")
            print(f"{'':>7} (features: {X.nbytes / 2**20:.0f} MiB; d² float64: "
                  f"{d**2 * 8 / 2**20:.0f} MiB)")


def main():
    args = _parse()
    from _sweep import set_thread_environment

    set_thread_environment(args.threads)
    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)
    if args.variants:
        variants(args)
        return
    from _sweep import run_sweep

    from skdisco.transferability import disco, logme

    run_sweep(
        "DISCO (defaults) against our LogME",
        {"LogME": logme, "DISCO": disco},
        [("DISCO / LogME", "DISCO", "LogME")],
        args,
        note="Goal: DISCO / LogME at most 1.5 at every N.",
        out_name="disco.md",
    )


if __name__ == "__main__":
    main()
