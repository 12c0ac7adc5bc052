import numpy as np

from skdisco.cli import SCORER_NAMES
from skdisco.datasets import load_score_evidence


def test_shipped_score_evidence_is_coherent():
    scores, targets = load_score_evidence()
    assert not scores["scorer"].duplicated().any()
    assert set(scores["kind"]) <= {"score", "control", "loto", "ensemble"}
    assert scores["mean_tau_w"].between(-1, 1).all()
    finite = scores["ci_low"].notna() & scores["ci_high"].notna()
    rows = scores[finite]
    assert (rows["ci_low"] <= rows["mean_tau_w"]).all()
    assert (rows["mean_tau_w"] <= rows["ci_high"]).all()
    # every shipped score is one the command line can run
    assert set(scores.loc[scores["kind"] == "score", "scorer"]) <= set(SCORER_NAMES)
    # a scorer evaluated on a task has a mean on it, and only then
    for task in ("classification", "regression"):
        on = scores["tasks"].str.split("+").map(lambda t, task=task: task in t)
        kind = scores["kind"] == "score"
        assert scores.loc[kind & on, f"mean_tau_w_{task}"].notna().all()
        assert scores.loc[kind & ~on, f"mean_tau_w_{task}"].isna().all()
    cls = targets[targets["task"] == "classification"]
    assert (cls["samples_per_class_min"] <= cls["samples_per_class_max"]).all()
    assert (cls["samples_per_class_max"] * cls["n_classes"] >= cls["n_train"]).all()
    assert targets.loc[targets["task"] == "regression", "n_classes"].isna().all()
    assert np.all(targets["feature_width_min"] <= targets["feature_width_max"])
