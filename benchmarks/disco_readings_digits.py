"""DISCO's readings on scikit-learn's digits, with growing noise.

Prints the table in ``docs/methods/disco.md`` ("Why the default is not the
literal reading"): the default, the previous default, the paper's literal
reading, the class-specific covariance and the one-group control, on the
digits features, the same features plus Gaussian noise (seed 0), and pure
noise. A sanity check on the ordering, not a timing; runs in seconds::

    python benchmarks/disco_readings_digits.py
"""

import numpy as np
from sklearn.datasets import load_digits

from skdisco.transferability import disco

READINGS = {
    "default (G=2, identity, CV)": {},
    "old default (G=4, centred, shared, CV)": dict(
        n_groups=4, centering=True, covariance="shared"
    ),
    "paper reading": dict(
        n_groups=4,
        centering=False,
        covariance="shared",
        posterior="in_sample",
        hard_examples=None,
    ),
    "default, class covariance": dict(covariance="class"),
    "G=1": dict(n_groups=1),
}


def main():
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    feature_sets = {
        "digits": X,
        "digits + N(0, 4²) noise": X + rng.normal(0, 4, X.shape),
        "digits + N(0, 8²) noise": X + rng.normal(0, 8, X.shape),
        "pure noise": rng.normal(0, 1, X.shape),
    }
    print("| features | " + " | ".join(READINGS) + " |")
    print("|---" * (len(READINGS) + 1) + "|")
    for name, F in feature_sets.items():
        row = " | ".join(f"{disco(F, y, **kw):.3f}" for kw in READINGS.values())
        print(f"| {name} | {row} |")


if __name__ == "__main__":
    main()
