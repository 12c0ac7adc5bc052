"""The scorer check suite passes good scorers and catches broken ones."""

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from skdisco.scorers import DiscoScorer, LogMEScorer
from skdisco.transferability import logme
from skdisco.utils import ScorerTags, Tags
from skdisco.utils.estimator_checks import (
    check_scorer,
    check_scorer_combine_models,
    check_scorer_deterministic,
    check_scorer_informative_beats_noise,
    check_scorer_label_permutation_invariance,
    check_scorer_label_renaming_invariance,
    check_scorer_matches_function,
    check_scorer_sample_order_invariance,
    check_scorer_scale_invariance,
    make_scorer_data,
    scorer_tasks,
)


class _OrderDependent(LogMEScorer):
    """Scores only the first half of the samples: depends on sample order."""

    def fit(self, X, y):
        half = len(X) // 2
        return super().fit(np.asarray(X)[:half], np.asarray(y)[:half])


class _LabelValueDependent(LogMEScorer):
    """Reads label values as regression targets: not invariant to renaming."""

    def fit(self, X, y):
        y = np.asarray(y)
        codes = np.unique(y, return_inverse=True)[1] if y.dtype.kind in "OUS" else y
        self.set_params(task="regression")
        return super().fit(X, codes.astype(float))


class _Random(LogMEScorer):
    """Adds noise to the score: not deterministic."""

    def fit(self, X, y):
        super().fit(X, y)
        self.score_ += np.random.default_rng().random()
        return self


class _Inverted(LogMEScorer):
    """Negates the score: lower would be better, and differs from the function."""

    def fit(self, X, y):
        super().fit(X, y)
        self.score_ = -self.score_
        return self


X, Y, X_NOISE = make_scorer_data("classification")


def test_check_scorer_passes_logme():
    ran = check_scorer(LogMEScorer())
    # 8 checks on class labels (label renaming), 8 on a multi-label matrix
    # (label permutation), 7 on a regression target; scale invariance and the
    # order of tied (integer-valued) rows in each.
    assert len(ran) == 23
    assert {r.split(":")[0] for r in ran} == {
        "classification",
        "regression",
        "multilabel",
    }


def test_sample_order_check_catches_order_dependence():
    with pytest.raises(AssertionError, match="sample order"):
        check_scorer_sample_order_invariance("s", _OrderDependent(), X, Y)


def test_label_renaming_check_catches_label_value_dependence():
    with pytest.raises(AssertionError, match="renamed"):
        check_scorer_label_renaming_invariance("s", _LabelValueDependent(), X, Y)


def test_deterministic_check_catches_randomness():
    with pytest.raises(AssertionError, match="not deterministic"):
        check_scorer_deterministic("s", _Random(), X, Y)


def test_function_and_noise_checks_catch_an_inverted_score():
    with pytest.raises(AssertionError, match="function score"):
        check_scorer_matches_function("s", _Inverted(), X, Y)
    with pytest.raises(AssertionError, match="noise"):
        check_scorer_informative_beats_noise("s", _Inverted(), X, Y, X_NOISE)


def test_make_scorer_data_probabilities_lie_on_the_simplex():
    P, y, P_noise = make_scorer_data("classification", "probabilities")
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    assert (P >= 0).all() and (P_noise >= 0).all()
    assert np.bincount(y).min() == np.bincount(y).max()


def test_make_scorer_data_multilabel_is_a_balanced_indicator():
    X, Y, X_noise = make_scorer_data("multilabel", n_classes=3)
    assert Y.shape == (240, 3) and set(np.unique(Y)) == {0, 1}
    np.testing.assert_array_equal(Y.sum(axis=0), [120, 120, 120])
    assert X.shape == X_noise.shape == (240, 12)


def test_make_scorer_data_source_labels_are_one_informative_column():
    X, y, X_noise = make_scorer_data("classification", "labels")
    assert X.shape == X_noise.shape == (240, 1)
    assert X.dtype.kind == X_noise.dtype.kind == "i"
    assert X.min() >= 0 and X.max() < 12
    assert mutual_info_score(y, X[:, 0]) > 5 * mutual_info_score(y, X_noise[:, 0])


class _Tagged(LogMEScorer):
    """LogME with other scorer tags; records the data each fit sees."""

    scorer_tags = ScorerTags()
    seen = []

    def __sklearn_tags__(self):
        return Tags.from_sklearn(super().__sklearn_tags__(), self.scorer_tags)

    def fit(self, X, y):
        type(self).seen.append((np.shape(X), np.shape(y)))
        return super().fit(X, y)


def _one_hot(labels):
    return np.eye(12)[np.asarray(labels)[:, 0].astype(int)]


def _logme_of_one_hot(X, y, **kwargs):
    return logme(_one_hot(X), y, **kwargs)


class _LabelsMultilabel(_Tagged):
    """LogME of one-hot source labels, for multi-label targets."""

    scorer_tags = ScorerTags(input_kind="labels", tasks=("multilabel",))
    seen = []
    _score_function = staticmethod(_logme_of_one_hot)

    def fit(self, X, y):
        type(self).seen.append((np.shape(X), np.shape(y)))
        return LogMEScorer.fit(self, _one_hot(X), y)


def test_check_scorer_builds_the_data_its_tags_ask_for():
    ran = check_scorer(_LabelsMultilabel(task="regression"))
    assert ran[0] == "multilabel:finite"
    assert "multilabel:label_permutation" in ran
    assert not any("label_renaming" in name for name in ran)
    assert set(_LabelsMultilabel.seen) == {((240, 1), (240, 4))}


def test_scorer_tasks_follow_tags_and_the_task_parameter():
    assert scorer_tasks(LogMEScorer()) == ["classification", "regression", "multilabel"]
    assert scorer_tasks(LogMEScorer(task="regression")) == ["regression"]
    assert scorer_tasks(_LabelsMultilabel(task="regression")) == ["multilabel"]


class _FirstLabelOnly(LogMEScorer):
    """Scores only the first column of a multi-label target."""

    def fit(self, X, y):
        return super().fit(X, np.asarray(y)[:, :1])


def test_label_permutation_check_catches_column_dependence():
    X, Y, _ = make_scorer_data("multilabel")
    check_scorer_label_permutation_invariance("s", LogMEScorer(task="regression"), X, Y)
    with pytest.raises(AssertionError, match="reordered"):
        check_scorer_label_permutation_invariance(
            "s", _FirstLabelOnly(task="regression"), X, Y
        )


class _SetLevel(_Tagged):
    """A set-level LogME: one component, combined by min-max over the models."""

    # LogME's score drifts with the feature scale (until its global-maximum
    # change): the scale check is not what this helper tests.
    scorer_tags = ScorerTags(set_level=True, scale_invariant=False)
    seen = []

    def fit(self, X, y):
        super().fit(X, y)
        self.components_ = np.array([self.score_])
        return self

    def combine_models(self, components):
        c = np.asarray(components)[:, 0]
        return (c - c.min()) / (c.max() - c.min())


class _SetLevelInverted(_SetLevel):
    def combine_models(self, components):
        return -super().combine_models(components)


class _SetLevelOrderDependent(_SetLevel):
    def combine_models(self, components):
        return np.arange(len(components), 0, -1, dtype=float)


def test_set_level_scorer_is_checked_through_combine_models():
    ran = check_scorer(_SetLevel(), task="classification")
    assert "classification:combine_models" in ran
    assert "classification:informative_beats_noise" not in ran
    assert "classification:label_renaming" in ran


def test_combine_models_check_catches_a_bad_combination():
    with pytest.raises(AssertionError, match="informative model"):
        check_scorer_combine_models("s", _SetLevelInverted(), X, Y, X_NOISE)
    with pytest.raises(AssertionError, match="order of the models"):
        check_scorer_combine_models("s", _SetLevelOrderDependent(), X, Y, X_NOISE)
    with pytest.raises(AttributeError, match="components_"):
        check_scorer_combine_models("s", LogMEScorer(), X, Y, X_NOISE)


class _Unscaled(DiscoScorer):
    """DISCO of the features plus a constant, whose weight depends on the scale."""

    def fit(self, X, y):
        return super().fit(np.asarray(X) + 1.0, y)


def test_check_scorer_passes_disco_with_scale_invariance():
    ran = check_scorer(DiscoScorer(), task="classification")
    assert "classification:scale_invariance" in ran
    assert "classification:sample_order_tied_rows" in ran
    assert len(ran) == 8


@pytest.mark.parametrize(
    "scorer",
    [
        DiscoScorer(covariance="identity"),
        # the check's regression data has fewer samples than features, where
        # the evidence reading refuses a group that fits the target exactly
        _Unscaled(task="regression", regression_score="in_sample"),
    ],
)
def test_scale_invariance_check_catches_scale_dependence(scorer):
    X, y, _ = make_scorer_data(
        "regression" if scorer.task == "regression" else "classification"
    )
    with pytest.raises(AssertionError, match="scaled by"):
        check_scorer_scale_invariance("s", scorer, X, y)


def test_scale_invariance_check_follows_the_tag():
    ran = check_scorer(DiscoScorer(covariance="identity"), task="classification")
    assert "classification:scale_invariance" not in ran
    assert "classification:scale_invariance" in check_scorer(
        DiscoScorer(covariance="shared"), task="classification"
    )
