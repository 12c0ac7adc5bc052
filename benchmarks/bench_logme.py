"""Wall time and peak memory of LogME against what a user would otherwise run.

Baselines, measured in the same run at the same BLAS thread count:

* ``eigh``: the textbook implementation -- ``FᵀF``, a full ``numpy.linalg.eigh``
  and the fixed-point iteration class by class (the shape of the reference code).
* ``BayesianRidge``: scikit-learn's ``BayesianRidge(fit_intercept=False)`` with
  zero hyperpriors fitted once per class (the same evidence, one target at a
  time). It refactorises the features for every class, so it is timed on a few
  classes and extrapolated linearly to all of them (marked ``*``).

The thuml/LogME reference is quoted from the issue (same machine kind, one BLAS
thread): about 3.9 s at N = 5 000 and 7.6 s at N = 20 000.

Usage::

    python benchmarks/bench_logme.py              # N in {5000, 20000, 100000}
    python benchmarks/bench_logme.py --quick      # N in {2000, 5000}, D = 512
    python benchmarks/bench_logme.py --compare-only   # default vs previous default

The last table times the default (``method="global"``, the global maximum of the
evidence) against the previous default (``method="fixed_point"``, the reference's
11 iterations) on the same features, in alternated rounds, best of each.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
import warnings

REFERENCE_SECONDS = {5000: 3.9, 20000: 7.6}


def _parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[5000, 20000, 100000])
    p.add_argument("--dim", type=int, default=2048)
    p.add_argument("--classes", type=int, default=100)
    p.add_argument("--threads", type=int, default=1, help="BLAS threads")
    p.add_argument("--br-classes", type=int, default=2,
                   help="classes BayesianRidge is timed on before extrapolating")
    p.add_argument("--skip-br-above", type=int, default=50000,
                   help="skip BayesianRidge above this N (minutes per class)")
    p.add_argument("--quick", action="store_true", help="small sizes, seconds")
    p.add_argument("--compare-sizes", type=int, nargs="+", default=[20000],
                   help="N for the default-vs-previous-default comparison")
    p.add_argument("--rounds", type=int, default=3,
                   help="alternated rounds of that comparison (best-of)")
    p.add_argument("--compare-only", action="store_true",
                   help="only the default-vs-previous-default comparison")
    return p.parse_args()


ARGS = _parse()
if ARGS.quick:
    ARGS.sizes, ARGS.dim = [2000, 5000], 512
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import BayesianRidge  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from skdisco.transferability import logme  # noqa: E402

warnings.simplefilter("ignore", ConvergenceWarning)


def make_features(n, d, c, seed=0):
    """Class-structured features with a decaying spectrum, like a backbone's."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % c
    rng.shuffle(y)
    scale = 1.0 / np.sqrt(1.0 + np.arange(d) / 16.0)
    F = rng.standard_normal((n, d)) * scale
    F += 0.5 * (rng.standard_normal((c, d)) * scale)[y]
    return F, y


def eigh_logme(F, y, max_iter=11, tol=1e-3, eps=1e-5):
    """Textbook LogME: full eigendecomposition, one class at a time."""
    n, d = F.shape
    s, V = np.linalg.eigh(F.T @ F)
    s = np.clip(s, 0.0, None)
    keep = s > s.max() * 1e-12
    evid = []
    for c in np.unique(y):
        yc = (y == c).astype(np.float64)
        x = (V[:, keep].T @ (F.T @ yc)) / np.sqrt(s[keep])
        x2, sig = x**2, s[keep]
        res_x2 = yc @ yc - x2.sum()
        alpha = beta = 1.0
        for _ in range(max_iter):
            t = alpha / beta
            gamma = (sig / (sig + t)).sum()
            m2 = (sig * x2 / (t + sig) ** 2).sum()
            res2 = (x2 / (1 + sig / t) ** 2).sum() + res_x2
            alpha, beta = gamma / (m2 + eps), (n - gamma) / (res2 + eps)
            if abs(alpha / beta - t) / t <= tol:
                break
        logdet = np.log(alpha + beta * s).sum()
        evid.append((d * np.log(alpha) + n * np.log(beta) - logdet - beta * res2
                     - alpha * m2 - n * np.log(2 * np.pi)) / (2 * n))
    return float(np.mean(evid))


def bayesian_ridge_per_class(F, y, classes):
    for c in classes:
        BayesianRidge(fit_intercept=False, alpha_1=0.0, alpha_2=0.0, lambda_1=0.0,
                      lambda_2=0.0).fit(F, (y == c).astype(np.float64))


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def peak_mib(fn, *args):
    """Peak memory allocated during ``fn`` beyond what existed before (MiB)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (peak - base) / 2**20


def reference_scheme(F, y):
    """The previous default: the reference's 11 fixed-point iterations."""
    return logme(F, y, method="fixed_point")


def alternated_best(fns, args, rounds):
    """Best-of-``rounds`` time per function, the functions run in turn each round."""
    best = [np.inf] * len(fns)
    out = [None] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            t, out[i] = timed(fn, *args)
            best[i] = min(best[i], t)
    return best, out


def compare_with_previous_default():
    """Global maximum (default) against the 11-iteration scheme, same data."""
    d, c = ARGS.dim, ARGS.classes
    print(f"\nDefault (global maximum) vs previous default (11 fixed-point "
          f"iterations), D={d}, C={c}, best of {ARGS.rounds} alternated rounds")
    print(f"{'N':>7} | {'global s':>8} {'score':>8} | {'fixed_point s':>13}"
          f" {'score':>8} | {'new/old':>7}")
    with threadpool_limits(ARGS.threads):
        for n in ARGS.compare_sizes:
            F, y = make_features(n, d, c)
            (t_new, t_old), (s_new, s_old) = alternated_best(
                [logme, reference_scheme], (F, y), ARGS.rounds)
            print(f"{n:7d} | {t_new:8.2f} {s_new:8.4f} | {t_old:13.2f} {s_old:8.4f}"
                  f" | {t_new / t_old:7.3f}")


def main():
    if ARGS.compare_only:
        compare_with_previous_default()
        return
    d, c = ARGS.dim, ARGS.classes
    rows = []
    with threadpool_limits(ARGS.threads):
        for n in ARGS.sizes:
            F, y = make_features(n, d, c)
            t_ours, s_ours = timed(logme, F, y)
            m_ours = peak_mib(logme, F, y)
            t_eigh, s_eigh = timed(eigh_logme, F, y)
            m_eigh = peak_mib(eigh_logme, F, y)
            if n <= ARGS.skip_br_above:
                k = min(ARGS.br_classes, c)
                t_br, _ = timed(bayesian_ridge_per_class, F, y, np.arange(k))
                t_br *= c / k
            else:
                t_br = float("nan")
            rows.append((n, t_ours, m_ours, t_eigh, m_eigh, t_br,
                         abs(s_ours - s_eigh) / abs(s_eigh)))
            del F
    input_mib = {n: n * d * 8 / 2**20 for n in ARGS.sizes}
    print(f"\nLogME, D={d}, C={c}, {ARGS.threads} BLAS thread(s), float64 input "
          f"({sys.platform}, numpy {np.__version__})")
    head = (f"{'N':>7} | {'ours s':>7} {'peak MiB':>9} | {'eigh s':>7} {'peak MiB':>9}"
            f" {'ratio':>6} | {'BayesRidge s':>12} {'ratio':>7} | {'ref s':>5}"
            f" {'ratio':>6} | {'input MiB':>9} | {'|Δscore|':>8}")
    print(head)
    print("-" * len(head))
    for n, t, m, te, me, tb, diff in rows:
        ref = REFERENCE_SECONDS.get(n) if d == 2048 and c == 100 else None
        ref_s = f"{ref:5.1f} {ref / t:5.1f}x" if ref else f"{'-':>5} {'-':>6}"
        br_s = (f"{tb:11.1f}* {tb / t:6.1f}x" if np.isfinite(tb)
                else f"{'skipped':>12} {'-':>7}")
        print(f"{n:7d} | {t:7.2f} {m:9.1f} | {te:7.2f} {me:9.1f} {te / t:5.2f}x |"
              f" {br_s} | {ref_s} | {input_mib[n]:9.1f} | {diff:8.1e}")
    print("* BayesianRidge timed on "
          f"{min(ARGS.br_classes, c)} classes and extrapolated to {c}.")
    print("ratio = baseline time / our time (higher means we are faster). "
          "ref = thuml/LogME as quoted in the issue, not measured here.")
    compare_with_previous_default()


if __name__ == "__main__":
    main()
