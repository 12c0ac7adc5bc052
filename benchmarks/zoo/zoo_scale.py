"""Does a scorer's dependence on the feature scale change the zoo's ranking?

    python benchmarks/zoo/run.py --quick        # the features (cached)
    python benchmarks/zoo/zoo_scale.py --quick  # this table

For every feature scorer whose tags say it is not scale invariant (and DISCO's
scale-invariant default beside its former identity covariance), the candidates
of each classification target are ranked three times by ``rank_models``: on the
features as they are, on every model's features multiplied by 0.01, and on
every model's features rescaled to unit mean row norm (so models no longer
differ by their feature norm). The table gives Kendall τ between the ranking as
is and each rescaled ranking (1: the rescaling changes nothing) and the
weighted τ of each against fine-tuning; ``scale_invariance.csv`` in the results
folder of the profile holds every target.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def scorers():
    """``{column: unfitted scorer}``: the non-invariant scorers, and DISCO's two."""
    from skdisco.scorers import DiscoScorer
    from skdisco.selection import scorer_names
    from skdisco.utils import get_scorer_tags

    out = {}
    for name, cls in scorer_names().items():
        tags = get_scorer_tags(cls())
        if tags.input_kind == "features" and not tags.scale_invariant:
            out[name] = cls()
    out["disco"] = DiscoScorer()
    out["disco[identity]"] = DiscoScorer(covariance="identity")
    return out


RESCALINGS = {
    "as is": lambda F: F,
    "x0.01": lambda F: 0.01 * F,
    "unit mean norm": lambda F: F / np.linalg.norm(F, axis=1).mean(),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the quick profile")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    from run import PROFILES, load_targets
    from zoo_models import make_candidates
    from zoo_stages import load_features

    from skdisco.selection import kendall_tau, rank_models, weighted_kendall_tau

    name = "quick" if args.quick else "full"
    cache = HERE / ".cache" / name
    out = REPO / "benchmarks" / "results" / name
    truth = pd.read_csv(out / "ground_truth.csv")
    candidates = make_candidates(PROFILES[name])
    columns = scorers()
    rows = []
    for target in load_targets(PROFILES[name]):
        if target.task != "classification":
            continue
        feats = {c.name: load_features(cache, target, c)[0] for c in candidates}
        y = target.y_train.astype(np.int64)
        tables = {}
        for label, rescale in RESCALINGS.items():
            models = {
                m: rescale(np.asarray(F, dtype=np.float64)) for m, F in feats.items()
            }
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tables[label] = rank_models(models, y=y, scorers=columns).set_index(
                    "model"
                )
        ft = truth[truth["target"] == target.name].set_index("model")["finetune"]
        for scorer in columns:
            base = tables["as is"][scorer]
            row = {"target": target.name, "scorer": scorer}
            for label, table in tables.items():
                s = table.loc[base.index, scorer]
                if label != "as is":
                    row[f"tau_vs_as_is[{label}]"] = kendall_tau(s, base)
                row[f"tau_w_finetune[{label}]"] = weighted_kendall_tau(
                    s, ft.loc[base.index]
                )
            rows.append(row)
    df = pd.DataFrame(rows)
    df.to_csv(out / "scale_invariance.csv", index=False, float_format="%.4f")
    print(df.groupby("scorer").mean(numeric_only=True).round(3).to_string())


if __name__ == "__main__":
    sys.exit(main())
