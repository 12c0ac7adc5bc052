"""The command line on the inputs users give it: one-line errors, CLI advice."""

import numpy as np
import pytest
from sklearn.datasets import load_diabetes

import skdisco.selection
from skdisco.cli import main


@pytest.fixture
def diabetes_files(tmp_path):
    X, y = load_diabetes(return_X_y=True)
    np.save(tmp_path / "F.npy", X)
    np.save(tmp_path / "y.npy", y)
    return tmp_path


@pytest.fixture
def label_files(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "F.npy", rng.normal(size=(40, 4)))
    np.save(tmp_path / "y.npy", np.repeat([0, 1], 20))
    return tmp_path


@pytest.fixture
def image_set(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "d.npz",
        images=rng.integers(0, 256, (8, 16, 16, 3), dtype=np.uint8),
        labels=np.repeat([0, 1], 4),
    )
    return tmp_path / "d.npz"


def _score(d, *args):
    return main(
        ["score", "--features", str(d / "F.npy"), "--labels", str(d / "y.npy"), *args]
    )


def test_score_integer_regression_target_advises_task_flag(diabetes_files, capsys):
    assert _score(diabetes_files, "--scorer", "logme") == 2
    err = capsys.readouterr().err
    assert "--task regression" in err
    assert "task='regression'" not in err
    assert len(err.strip().splitlines()) == 1


def test_score_task_flag_reaches_the_scorers(diabetes_files, capsys):
    from skdisco.transferability import disco, logme

    X, y = load_diabetes(return_X_y=True)
    assert _score(diabetes_files, "--task", "regression") == 0
    out = capsys.readouterr().out
    assert f"{logme(X, y, task='regression'):.6f}" in out
    assert f"{disco(X, y, task='regression'):.6f}" in out


def test_rank_task_flag_reaches_the_scorers(image_set, monkeypatch, capsys):
    seen = {}

    def fake_rank_models(models, X, y, *, scorers, **kwargs):
        seen.update(scorers)
        raise KeyboardInterrupt

    monkeypatch.setattr(skdisco.selection, "rank_models", fake_rank_models)
    args = ["rank", "m", "--data", str(image_set), "--scorer", "logme"]
    assert main([*args, "--scorer", "gbc", "--task", "regression"]) == 130
    assert seen["logme"].task == "regression"
    assert "task" not in seen["gbc"].get_params()


@pytest.mark.parametrize("name", ["ncti", "etran", "disco_detection"])
def test_score_set_level_scorer_says_it_needs_several_models(label_files, name, capsys):
    assert _score(label_files, "--scorer", name) == 2
    captured = capsys.readouterr()
    assert "set of models" in captured.err
    assert "skdisco rank" in captured.err
    assert "0.000000" not in captured.out


@pytest.mark.parametrize("name", ["leep", "nce", "pactran_dirichlet"])
def test_score_probability_scorer_exits_non_zero(label_files, name, capsys):
    # beside a scorer that works (which used to exit 0 with a NaN row)
    assert _score(label_files, "--scorer", "logme", "--scorer", name) == 2
    err = capsys.readouterr().err
    assert f"{name} scores the source model's probabilities" in err
    assert "skdisco rank" in err


def test_score_output_into_missing_folder_is_created(label_files, capsys):
    out = label_files / "new" / "sub" / "scores.csv"
    assert _score(label_files, "--scorer", "logme", "--output", str(out)) == 0
    assert out.read_text().startswith("scorer,score")


def test_score_output_naming_a_folder_fails_up_front(label_files, capsys):
    assert _score(label_files, "--scorer", "logme", "--output", str(label_files)) == 2
    err = capsys.readouterr().err
    assert "is a folder" in err
    assert "Traceback" not in err


def test_rank_output_naming_a_folder_fails_before_ranking(
    image_set, tmp_path, monkeypatch, capsys
):
    def fail(*args, **kwargs):
        raise AssertionError("the ranking ran before the output was checked")

    monkeypatch.setattr(skdisco.selection, "rank_models", fail)
    args = ["rank", "m", "--data", str(image_set), "--output", str(tmp_path)]
    assert main(args) == 2
    assert "is a folder" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["rank", "demo"])
def test_n_jobs_zero_is_a_usage_error(image_set, command, capsys):
    args = ["rank", "m", "--data", str(image_set)] if command == "rank" else ["demo"]
    assert main([*args, "--n-jobs", "0"]) == 2
    err = capsys.readouterr().err
    assert "--n-jobs" in err and "-1 for every CPU" in err
    assert "Traceback" not in err


def test_interrupt_without_cache_dir_says_how_to_keep_rows(
    image_set, monkeypatch, capsys
):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(skdisco.selection, "rank_models", interrupted)
    assert main(["rank", "m", "--data", str(image_set)]) == 130
    assert "--cache-dir DIR" in capsys.readouterr().err
    args = ["rank", "m", "--data", str(image_set), "--cache-dir", str(image_set.parent)]
    assert main(args) == 130
    assert "run again to resume" in capsys.readouterr().err
