"""Wall time of LogME against the published LogME algorithm, at every size.

Default: the size sweep of ``benchmarks/_sweep.py`` -- N from 200 to 10⁵ at
D = 2048, 512 and 1 280, C = 100, one and two BLAS threads -- timing our
``logme`` (default ``method="global"``) against the published algorithm
(thuml/LogME ``LogME._fit_fixed_point``, its default), re-implemented below as
that code computes it: for N > D the SVD of ``FᵀF`` and ``U = F Vᵀ / s`` (its
``truncated_svd``), for N ≤ D the thin SVD of ``F``, then per class ``x = Uᵀy``
and its 11 fixed-point iterations. The two are alternated within every
repetition, the minimum of each kept; ``published / ours`` is the speed-up
(goal: at least 5). Equality is checked on the same data once per (N, D): our
``method="fixed_point"`` (the same iteration) against the re-implementation,
relative difference of the score. For N ≤ D (rank N < D) the published code
drops the ``(D - k) log α`` term of the evidence (thuml/LogME issue 23, our
documented deviation); the check adds it back to the published score. The table
is written to ``benchmarks/results/speed/logme.md``.

Other baselines (``--baselines``, one D and thread count), measured in the same
run:

* ``eigh``: the textbook implementation -- ``FᵀF``, a full ``numpy.linalg.eigh``
  and the fixed-point iteration class by class.
* ``BayesianRidge``: scikit-learn's ``BayesianRidge(fit_intercept=False)`` with
  zero hyperpriors fitted once per class (the same evidence, one target at a
  time). It refactorises the features for every class, so it is timed on a few
  classes and extrapolated linearly to all of them (marked ``*``).

``--compare-only`` times the default (``method="global"``, the global maximum of
the evidence) against the previous default (``method="fixed_point"``, the
reference's 11 iterations) on the same features, in alternated rounds, best of
each.

Usage::

    python benchmarks/bench_logme.py                      # the full sweep
    python benchmarks/bench_logme.py --n 1000 5000 20000 --d 2048 --threads 1
    python benchmarks/bench_logme.py --baselines --n 5000 20000 --d 2048
    python benchmarks/bench_logme.py --compare-only --n 20000
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

from _sweep import add_sweep_arguments, set_thread_environment  # noqa: E402


def _parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_sweep_arguments(p)
    p.add_argument("--baselines", action="store_true",
                   help="the eigh and BayesianRidge baselines (first --d, "
                   "first --threads)")
    p.add_argument("--br-classes", type=int, default=2,
                   help="classes BayesianRidge is timed on before extrapolating")
    p.add_argument("--skip-br-above", type=int, default=50000,
                   help="skip BayesianRidge above this N (minutes per class)")
    p.add_argument("--compare-only", action="store_true",
                   help="only the default-vs-previous-default comparison (--n)")
    return p.parse_args()


ARGS = _parse()
set_thread_environment(ARGS.threads)

import numpy as np  # noqa: E402
from _sweep import best_times, make_features, run_sweep  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import BayesianRidge  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from skdisco.transferability import logme  # noqa: E402

warnings.simplefilter("ignore", ConvergenceWarning)


def published_logme(F, y):
    """LogME as thuml/LogME ``_fit_fixed_point`` computes it (its default path).

    Returns ``(score, alphas, ranks)``: the published score and, for the
    equality check, each class's final α and the rank ``k`` the code keeps.
    """
    f = F.astype(np.float64)  # LogME.fit
    N, D = f.shape
    if N > D:  # truncated_svd: SVD of the D × D Gram matrix, U = F V / s
        u, s, vh = np.linalg.svd(f.T @ f)
        s = np.sqrt(s)
        u_times_sigma = f @ vh.T
        k = int(np.sum(s > 1e-10))
        s = s.reshape(-1, 1)[:k]
        vh = vh[:k]
        u = u_times_sigma[:, :k] / s.reshape(1, -1)
    else:
        u, s, vh = np.linalg.svd(f, full_matrices=False)
        k = s.shape[0]
    s = s.reshape(-1, 1)
    sigma = s**2
    evidences, alphas, ms = [], [], []
    for i in range(int(y.max() + 1)):
        y_ = (y == i).astype(np.float64).reshape(-1, 1)
        x = u.T @ y_
        x2 = x**2
        res_x2 = (y_**2).sum() - x2.sum()
        alpha, beta = 1.0, 1.0
        for _ in range(11):
            t = alpha / beta
            gamma = (sigma / (sigma + t)).sum()
            m2 = (sigma * x2 / ((t + sigma) ** 2)).sum()
            res2 = (x2 / ((1 + sigma / t) ** 2)).sum() + res_x2
            alpha = gamma / (m2 + 1e-5)
            beta = (N - gamma) / (res2 + 1e-5)
            t_ = alpha / beta
            if abs(t_ - t) / t <= 1e-3:
                break
        evidence = (D / 2.0 * np.log(alpha) + N / 2.0 * np.log(beta)
                    - 0.5 * np.sum(np.log(alpha + beta * sigma))
                    - beta / 2.0 * res2 - alpha / 2.0 * m2
                    - N / 2.0 * np.log(2 * np.pi)) / N
        m = (vh.T @ (1.0 / (t + sigma) * s * x)).reshape(-1)  # the weights it keeps
        evidences.append(evidence)
        alphas.append(alpha)
        ms.append(m)
    np.stack(ms)
    return float(np.mean(evidences)), np.array(alphas), k


def _published_score(F, y):
    return published_logme(F, y)[0]


def equality_check(F, y, outputs):
    """Relative difference of our fixed-point LogME and the published score.

    The published score gets back the ``(D - k)/2 · log α / N`` per class it
    drops when the features have rank k < D.
    """
    score, alphas, k = published_logme(F, y)
    n, d = F.shape
    corrected = score - float(np.mean((d - k) / 2.0 * np.log(alphas) / n))
    ours = logme(F, y, method="fixed_point")
    rel = abs(ours - corrected) / abs(corrected)
    return {"fixed point vs published, relative difference":
            f"{rel:.1e}" + (" (dropped term added)" if k < d else "")}


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


def compare_with_previous_default():
    """Global maximum (default) against the 11-iteration scheme, same data."""
    d, c, threads = ARGS.d[0], ARGS.classes, ARGS.threads[0]
    print(f"\nDefault (global maximum) vs previous default (11 fixed-point "
          f"iterations), D={d}, C={c}, {threads} thread(s), min of {ARGS.repeats} "
          "alternated repetitions")
    print(f"{'N':>7} | {'global s':>8} {'score':>8} | {'fixed_point s':>13}"
          f" {'score':>8} | {'new/old':>7}")
    with threadpool_limits(threads):
        for n in ARGS.n:
            F, y = make_features(n, d, c)
            t, _, s = best_times({"new": logme, "old": reference_scheme}, F, y,
                              ARGS.repeats)
            print(f"{n:7d} | {t['new']:8.2f} {s['new']:8.4f} | {t['old']:13.2f} "
                  f"{s['old']:8.4f} | {t['new'] / t['old']:7.3f}")


def baselines():
    """Ours against the textbook eigh LogME and BayesianRidge, with peak memory."""
    d, c, threads = ARGS.d[0], ARGS.classes, ARGS.threads[0]
    rows = []
    with threadpool_limits(threads):
        for n in ARGS.n:
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
    print(f"\nLogME, D={d}, C={c}, {threads} BLAS thread(s), float64 input "
          f"({sys.platform}, numpy {np.__version__})")
    head = (f"{'N':>7} | {'ours s':>7} {'peak MiB':>9} | {'eigh s':>7} {'peak MiB':>9}"
            f" {'ratio':>6} | {'BayesRidge s':>12} {'ratio':>7} | {'input MiB':>9}"
            f" | {'|Δscore|':>8}")
    print(head)
    print("-" * len(head))
    for n, t, m, te, me, tb, diff in rows:
        br_s = (f"{tb:11.1f}* {tb / t:6.1f}x" if np.isfinite(tb)
                else f"{'skipped':>12} {'-':>7}")
        print(f"{n:7d} | {t:7.2f} {m:9.1f} | {te:7.2f} {me:9.1f} {te / t:5.2f}x |"
              f" {br_s} | {n * d * 8 / 2**20:9.1f} | {diff:8.1e}")
    print("* BayesianRidge timed on "
          f"{min(ARGS.br_classes, c)} classes and extrapolated to {c}.")
    print("ratio = baseline time / our time (higher means we are faster).")


def main():
    if ARGS.compare_only:
        compare_with_previous_default()
        return
    if ARGS.baselines:
        baselines()
        return
    run_sweep(
        "LogME (ours, default) against the published LogME algorithm",
        {"ours": logme, "published": _published_score},
        [("published / ours", "published", "ours")],
        ARGS,
        checks=equality_check,
        note="Goal: published / ours at least 5 where the published algorithm is "
        "comparable.",
        out_name="logme.md",
    )


if __name__ == "__main__":
    main()
