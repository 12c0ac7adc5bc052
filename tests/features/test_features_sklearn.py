import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from skdisco.features import TimmFeatureExtractor
from skdisco.scorers import LogMEScorer
from skdisco.transferability import logme


def _extractor(name="test_resnet", **kwargs):
    kwargs = {"pretrained": False, "image_size": 32, "random_state": 0, **kwargs}
    return TimmFeatureExtractor(name, **kwargs)


def test_fit_ignores_data_and_learns_nothing(images):
    a = _extractor().fit(images).transform(images)
    b = _extractor().fit(None).transform(images)
    c = _extractor().fit(images[:1] * 0).transform(images)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_feature_names_and_pandas_output(images):
    ext = _extractor().fit()
    names = ext.get_feature_names_out()
    assert list(names[:2]) == ["test_resnet_features0", "test_resnet_features1"]
    assert len(names) == ext.n_features_out_ == 96
    F = ext.transform(images)
    df = ext.set_output(transform="pandas").transform(images)
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == list(names)
    np.testing.assert_array_equal(df.to_numpy(), F)
    series = pd.Series([None] * 0 + list(range(6)), index=list("abcdef"))
    paths_df = ext.transform(pd.Series(list(images), index=series.index))
    assert list(paths_df.index) == list("abcdef")


def test_feature_names_of_logits():
    names = _extractor(output="logits").fit().get_feature_names_out()
    assert len(names) == 1000 and names[999] == "test_resnet_logits999"


def test_clone_keeps_parameters_and_drops_model():
    ext = _extractor(output="probabilities", batch_size=3).fit()
    copy = clone(ext)
    assert copy.get_params() == ext.get_params()
    assert not hasattr(copy, "model_")


def test_invalid_parameters_raise():
    with pytest.raises(ValueError, match="output"):
        _extractor(output="pooled").fit()
    with pytest.raises(ValueError, match="batch_size"):
        _extractor(batch_size=0).fit()


def test_transform_before_fit_raises(images):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        _extractor().transform(images)


def test_pickle_round_trip_gives_same_features_on_cpu(images):
    ext = _extractor().fit()
    F = ext.transform(images)
    restored = pickle.loads(pickle.dumps(ext))
    assert restored.device_ == torch.device("cpu")
    assert all(p.device.type == "cpu" for p in restored.model_.parameters())
    np.testing.assert_array_equal(restored.transform(images), F)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_fitted_extractor_pickles_to_cpu_model(images):
    ext = _extractor(device="cuda").fit()
    ext.transform(images)
    state = pickle.loads(pickle.dumps(ext))
    # unpickled state holds a CPU model: loads on a machine without CUDA
    assert all(p.device.type == "cpu" for p in state.model_.parameters())
    assert state.device_ == torch.device("cpu")
    assert next(ext.model_.parameters()).device.type == "cuda"  # original intact
    cpu = state.set_params(device="cpu").transform(images)
    np.testing.assert_allclose(cpu, ext.transform(images), atol=0.1)


@pytest.mark.filterwarnings("ignore:LogME did not converge")
def test_grid_search_over_model_names_ranks_like_direct_logme(images):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(24, 32, 32, 3), dtype=np.uint8)
    y = np.repeat([0, 1, 2], 8)
    X[y == 1, :16] //= 3  # give the classes something to tell apart
    X[y == 2, :, :16] = 255 - X[y == 2, :, :16]
    names = ["test_resnet", "test_convnext", "test_efficientnet"]
    pipe = Pipeline([("extract", _extractor()), ("score", LogMEScorer())])
    idx = np.arange(len(X))
    search = GridSearchCV(pipe, {"extract__model_name": names}, cv=[(idx, idx)])
    search.fit(X, y)
    direct = [logme(_extractor(name).fit_transform(X), y) for name in names]
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], direct, rtol=1e-6)
    assert list(search.cv_results_["rank_test_score"]) == list(
        np.argsort(np.argsort(-np.asarray(direct))) + 1
    )
    assert search.best_params_["extract__model_name"] == names[int(np.argmax(direct))]
