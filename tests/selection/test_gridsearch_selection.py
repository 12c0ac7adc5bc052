"""GridSearchCV over backbones: WholeSetSplit and transferability scoring."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from skdisco.features import TorchFeatureExtractor
from skdisco.scorers import DiscoScorer, LogMEScorer
from skdisco.selection import WholeSetSplit, pipeline_features, transferability_scorer
from skdisco.transferability import disco, logme


@pytest.fixture(scope="module")
def controlled():
    """Images whose red channel carries the class and two backbones.

    The informative backbone reads every channel; the uninformative one has
    its red-channel weights zeroed, so it sees only the noise channels.
    """
    rng = np.random.default_rng(0)
    n, size = 90, 12
    y = np.repeat([0, 1, 2], n // 3)
    images = rng.integers(0, 256, (n, size, size, 3)).astype(np.float64)
    images[..., 0] = 40 + 70 * y[:, None, None] + rng.normal(0, 25, (n, size, size))
    images = np.clip(images, 0, 255).astype(np.uint8)
    torch.manual_seed(0)
    good = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU())
    bad = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU())
    with torch.no_grad():
        bad[0].weight[:, 0] = 0.0
    return images, y, good, bad


def test_whole_set_split_is_one_split_over_everything():
    cv = WholeSetSplit()
    assert cv.get_n_splits() == 1
    ((train, test),) = list(cv.split(np.zeros((5, 2))))
    np.testing.assert_array_equal(train, np.arange(5))
    np.testing.assert_array_equal(test, np.arange(5))
    with pytest.raises(ValueError, match="at least one sample"):
        list(cv.split(np.zeros((0, 2))))


def test_grid_search_scorer_pipeline_and_classifier_pipeline_agree(controlled):
    images, y, good, bad = controlled
    grid = {"backbone__module": [bad, good]}

    scorer_pipe = Pipeline(
        [("backbone", TorchFeatureExtractor(bad)), ("score", LogMEScorer())]
    )
    by_scorer = GridSearchCV(scorer_pipe, grid, cv=WholeSetSplit()).fit(images, y)

    clf_pipe = Pipeline(
        [
            ("backbone", TorchFeatureExtractor(bad)),
            ("clf", LogisticRegression(max_iter=50)),
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        by_clf = GridSearchCV(
            clf_pipe,
            grid,
            cv=WholeSetSplit(),
            scoring=transferability_scorer(LogMEScorer()),
            refit=False,
        ).fit(images, y)

    assert by_scorer.best_params_["backbone__module"] is good
    assert by_clf.best_params_["backbone__module"] is good
    # both searches report the same numbers: LogME of each backbone's features
    features = [TorchFeatureExtractor(m).fit_transform(images) for m in (bad, good)]
    expected = [logme(F, y) for F in features]
    np.testing.assert_allclose(
        by_scorer.cv_results_["mean_test_score"], expected, rtol=1e-10
    )
    np.testing.assert_allclose(
        by_clf.cv_results_["mean_test_score"], expected, rtol=1e-10
    )
    assert expected[1] > expected[0]


def test_transferability_scorer_uses_the_pipeline_features(controlled):
    images, y, good, _ = controlled
    pipe = Pipeline(
        [("backbone", TorchFeatureExtractor(good)), ("clf", LogisticRegression())]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(images, y)
    F = TorchFeatureExtractor(good).fit_transform(images)
    np.testing.assert_array_equal(pipeline_features(pipe, images), F)
    scoring = transferability_scorer(DiscoScorer(random_state=0))
    assert scoring(pipe, images, y) == pytest.approx(disco(F, y, random_state=0))
    assert transferability_scorer("logme")(pipe, images, y) == pytest.approx(
        logme(F, y)
    )
    assert "LogMEScorer" in repr(transferability_scorer("logme"))
    with pytest.raises(ValueError, match="Unknown scorer"):
        transferability_scorer("accuracy")
