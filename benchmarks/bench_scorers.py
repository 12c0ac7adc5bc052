"""Wall time of the covariance scorers against LogME at every size; every scorer.

Default: the size sweep of ``benchmarks/_sweep.py`` -- N from 200 to 10⁵ at
D = 2048, 512 and 1 280, C = 100, one and two BLAS threads -- timing
:func:`~skdisco.transferability.hscore` and
:func:`~skdisco.transferability.regularized_hscore` (the shrinkage H-score)
against our :func:`~skdisco.transferability.logme`, alternated within every
repetition, the minimum of each kept; the ratios to LogME are the figures (goal:
at most 1.5 at every N). DISCO's sweep is ``bench_disco.py``'s. The table is
written to ``benchmarks/results/speed/scorers.md``.

``--every-scorer`` instead fits every scorer once per size (``--n``, first
``--d``, first ``--threads``) and reports its peak memory: every name in
``skdisco.scorers.__all__`` (except ``BaseScorer``) is fitted once per size on
synthetic Gaussian class clusters (D features, C classes) with BLAS fixed to
that thread count (threadpoolctl). Scorers that take source-model
probabilities (tag ``input_kind == "probabilities"``: LEEP, NCE, PACTran
Dirichlet/Gamma) get the softmax of a random linear map of the features to
``--source-classes`` (default 1 000) source classes; the detection
combination (tag ``tasks == ("detection",)``: ``DiscoDetectionScorer``) gets
each row's class label and four box coordinates. Peak memory is the
``tracemalloc`` peak during ``fit`` (numpy reports its buffers to tracemalloc;
BLAS/LAPACK workspaces are not counted).

Ratios: ``x LogME`` is the scorer's time over LogME's at the same size in the
same run (the common yardstick). For SFDA the published reference timings are
quoted too (about 9.4 s at N = 5 000 and 19 s at N = 20 000, D = 2048, C = 100,
one BLAS thread); they apply only at that D and C.

Skipped by design (printed as such): the linear and kNN probes and PARC above
``--max-n-slow`` samples (the probes train ``cv`` classifiers -- minutes at
N = 20 000, D = 2048 with one thread; PARC ranks N(N-1)/2 pair dissimilarities,
about 5 GB at N = 20 000), and NLEEP above ``--max-n-nleep`` (default 2 000): it
fits the references' full-covariance Gaussian mixture with 5·C = 500 components
in the PCA-80 % space (here about a thousand dimensions), O(iter·N·K·k²) -- about
7 minutes at N = 2 000 on one thread, hours at N = 20 000, as the reference code.

Usage::

    python benchmarks/bench_scorers.py                    # the full sweep
    python benchmarks/bench_scorers.py --n 1000 3000 --d 2048 --threads 1
    python benchmarks/bench_scorers.py --every-scorer   # N = 2000, 20000 (+5000 SFDA)
    python benchmarks/bench_scorers.py --every-scorer --quick   # about a minute
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

# The checkout this script lives in is the one measured (and _sweep beside it).
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

SFDA_REFERENCE_SECONDS = {5000: 9.4, 20000: 19.0}
SLOW_SCORERS = {"LinearProbeScorer", "KNNProbeScorer", "PARCScorer"}
MIXTURE_SCORERS = {"NLEEPScorer"}


def make_data(n, d, c, n_source, seed=0):
    """Features with class structure, labels, source probabilities, boxes.

    The detection target (what ``tasks == ("detection",)`` scorers take) is
    each row's class label followed by four box coordinates: a random linear
    map of the features plus noise.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    y = np.arange(n) % c
    rng.shuffle(y)
    centres = rng.standard_normal((c, d))
    X = centres[y] + 2.0 * rng.standard_normal((n, d))
    logits = X @ (rng.standard_normal((d, n_source)) / np.sqrt(d))
    logits -= logits.max(axis=1, keepdims=True)
    P = np.exp(logits)
    P /= P.sum(axis=1, keepdims=True)
    boxes = X @ (rng.standard_normal((d, 4)) / np.sqrt(d))
    boxes += rng.standard_normal((n, 4))
    return X, y, P, np.column_stack([y, boxes])


def scorer_names():
    import skdisco.scorers as scorers

    return [name for name in scorers.__all__ if name != "BaseScorer"]


def measure(estimator, X, y):
    """``(seconds, peak MiB)`` of one ``fit``."""
    tracemalloc.start()
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(X, y)
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 2**20


def run(sizes, d, c, n_source, max_n_slow, sfda_extra, max_n_nleep=2000):
    import skdisco.scorers as scorers
    from skdisco.utils import get_scorer_tags

    rows = []
    names = scorer_names()
    all_sizes = sorted(set(sizes) | ({5000} if sfda_extra else set()))
    for n in all_sizes:
        X, y, P, y_boxes = make_data(n, d, c, n_source)
        logme_seconds = None
        order = ["LogMEScorer"] + [m for m in names if m != "LogMEScorer"]
        for name in order:
            if name not in names:
                continue
            if n not in sizes and name != "SFDAScorer":
                continue
            cls = getattr(scorers, name)
            if name in SLOW_SCORERS and n > max_n_slow:
                rows.append((name, n, None, None, "skipped (too slow / O(N^2))"))
                continue
            if name in MIXTURE_SCORERS and n > max_n_nleep:
                rows.append((name, n, None, None, "skipped (500-component GMM)"))
                continue
            tags = get_scorer_tags(cls())
            data = P if tags.input_kind == "probabilities" else X
            target = y_boxes if tags.tasks == ("detection",) else y
            try:
                seconds, peak = measure(cls(), data, target)
            except Exception as exc:  # report, keep going with the others
                rows.append((name, n, None, None, f"error: {type(exc).__name__}"))
                continue
            if name == "LogMEScorer":
                logme_seconds = seconds
            note = ""
            if logme_seconds:
                note = f"{seconds / logme_seconds:.2f}x LogME"
            ref = SFDA_REFERENCE_SECONDS.get(n)
            if name == "SFDAScorer" and ref and d == 2048 and c == 100:
                note += f"; reference {ref:.1f} s -> {ref / seconds:.1f}x faster"
            rows.append((name, n, seconds, peak, note))
            print(f"  {name:26s} N={n:6d} {seconds:8.3f} s", flush=True)
    return rows


def print_table(rows, d, c, n_source, threads):
    print()
    unit = "thread" if threads == 1 else "threads"
    print(f"D={d}, C={c}, source classes={n_source}, {threads} BLAS {unit}")
    print(
        f"| {'scorer':26s} | {'N':>6s} | {'time (s)':>9s} | {'peak MiB':>9s} | note |"
    )
    print(f"|{'-' * 28}|{'-' * 8}|{'-' * 11}|{'-' * 11}|------|")
    for name, n, seconds, peak, note in rows:
        t = f"{seconds:9.3f}" if seconds is not None else f"{'-':>9s}"
        m = f"{peak:9.1f}" if peak is not None else f"{'-':>9s}"
        print(f"| {name:26s} | {n:6d} | {t} | {m} | {note} |")


def main(argv=None):
    from _sweep import add_sweep_arguments, set_thread_environment

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_sweep_arguments(parser)
    parser.add_argument("--every-scorer", action="store_true",
                        help="fit every scorer once per --n (first --d, first "
                        "--threads), with peak memory")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="with --every-scorer: N in {500, 2000}, D=256, C=20, 200 source "
        "classes",
    )
    parser.add_argument("--source-classes", type=int, default=1000)
    parser.add_argument("--max-n-slow", type=int, default=5000)
    parser.add_argument("--max-n-nleep", type=int, default=2000)
    args = parser.parse_args(argv)
    set_thread_environment(args.threads)
    from threadpoolctl import threadpool_limits

    if args.every_scorer:
        from _sweep import SIZES

        # Without --n: N in {2000, 20000} and SFDA at 5000 too (its references).
        default_n = args.n == list(SIZES)
        sizes = [2000, 20000] if default_n else args.n
        d, c, n_source = args.d[0], args.classes, args.source_classes
        if args.quick:
            sizes, d, c, n_source = [500, 2000], 256, 20, 200
        with threadpool_limits(limits=args.threads[0]):
            rows = run(sizes, d, c, n_source, args.max_n_slow,
                       sfda_extra=default_n and not args.quick,
                       max_n_nleep=args.max_n_nleep)
        print_table(rows, d, c, n_source, args.threads[0])
        return
    from _sweep import run_sweep

    from skdisco.transferability import hscore, logme, regularized_hscore

    run_sweep(
        "H-score and shrinkage H-score against our LogME",
        {"LogME": logme, "H-score": _quiet(hscore),
         "shrinkage H-score": regularized_hscore},
        [("H-score / LogME", "H-score", "LogME"),
         ("shrinkage / LogME", "shrinkage H-score", "LogME")],
        args,
        note="Goal: both ratios at most 1.5 at every N. Where N ≤ D the H-score "
        "saturates at C - 1 (it warns; the warning is silenced here).",
        out_name="scorers.md",
    )


def _quiet(fn):
    """``fn`` with its warnings silenced (H-score warns that N ≤ D saturates)."""

    def call(F, y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(F, y)

    return call


if __name__ == "__main__":
    main()
