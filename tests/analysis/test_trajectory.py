"""checkpoint_trajectory: equal checkpoints, broken files, resuming, bad input."""

import math
import shutil

import numpy as np
import pandas as pd
import pytest
import timm
import torch

from skdisco.analysis import checkpoint_trajectory, plot_checkpoint_trajectory
from skdisco.analysis._trajectory import epoch_of
from skdisco.cli import main
from skdisco.datasets import load_digit_images
from skdisco.finetune import FineTuneClassifier, FineTuneRegressor

FT = {"max_epochs": 1, "batch_size": 16}


@pytest.fixture(scope="module")
def data():
    X, y = load_digit_images(60)
    rng = np.random.default_rng(0)
    test = np.zeros(len(y), bool)
    test[rng.permutation(len(y))[:20]] = True
    return X[~test], y[~test], X[test], y[test]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Two checkpoints of the same weights (two files), another, a broken one."""
    d = tmp_path_factory.mktemp("ckpt")
    for seed, name in [(0, "epoch1.pt"), (1, "epoch3.pt")]:
        torch.manual_seed(seed)
        torch.save(timm.create_model("test_convnext").state_dict(), d / name)
    shutil.copy(d / "epoch1.pt", d / "copy1.pt")
    (d / "broken.pt").write_bytes(b"not a checkpoint")
    return d


def spec(files, name):
    return f"test_convnext={files / name}"


def test_same_weights_give_equal_rows(data, files):
    X, y, Xt, yt = data
    traj = checkpoint_trajectory(
        {
            "epoch1": spec(files, "epoch1.pt"),
            "copy": spec(files, "copy1.pt"),
            "epoch3": spec(files, "epoch3.pt"),
        },
        X,
        y,
        finetune=FT,
        X_test=Xt,
        y_test=yt,
        image_size=32,
    )
    assert list(traj.columns) == [
        "checkpoint",
        "epoch",
        "measure",
        "kind",
        "value",
        "time_s",
        "error",
        "from_cache",
    ]
    assert (
        traj["measure"].tolist() == ["logme", "linear_probe", "finetune_accuracy"] * 3
    )
    assert traj["kind"].tolist() == ["frozen", "frozen", "finetune"] * 3
    assert traj["error"].isna().all() and traj["value"].notna().all()
    first = traj[traj["checkpoint"] == "epoch1"]["value"].to_numpy()
    copy = traj[traj["checkpoint"] == "copy"]["value"].to_numpy()
    other = traj[traj["checkpoint"] == "epoch3"]["value"].to_numpy()
    np.testing.assert_array_equal(first, copy)
    assert first[0] != other[0]  # LogME sees different weights
    assert traj["epoch"].iloc[0] == 1.0 and math.isnan(traj["epoch"].iloc[3])
    assert 0.0 <= first[2] <= 1.0


def test_module_and_file_of_the_same_weights_agree(data, files):
    X, y, _, _ = data
    model = timm.create_model("test_convnext")
    model.load_state_dict(torch.load(files / "epoch1.pt", weights_only=True))
    traj = checkpoint_trajectory(
        [(1, model), (2, spec(files, "epoch1.pt"))],
        X,
        y,
        scorers="logme",
        image_size=32,
    )
    a, b = traj["value"].to_numpy()
    assert a == pytest.approx(b, rel=1e-5)  # module scored on pre-logits features


def test_broken_checkpoint_gives_error_rows_others_kept(data, files):
    X, y, Xt, yt = data
    traj = checkpoint_trajectory(
        [
            (1, spec(files, "epoch1.pt")),
            (2, spec(files, "broken.pt")),
            (3, spec(files, "epoch3.pt")),
        ],
        X,
        y,
        scorers="logme",
        finetune=FT,
        X_test=Xt,
        y_test=yt,
        image_size=32,
    )
    broken = traj[traj["checkpoint"] == "2"]
    assert broken["value"].isna().all()
    assert broken["error"].str.contains("broken.pt").all()
    assert len(broken) == 2  # the frozen and the fine-tuning row
    kept = traj[traj["checkpoint"] != "2"]
    assert kept["value"].notna().all() and kept["error"].isna().all()


def test_resume_from_cache_fine_tunes_nothing_again(data, files, tmp_path, monkeypatch):
    X, y, Xt, yt = data
    calls = []
    fit = FineTuneClassifier.fit

    def counted(self, X, y):
        calls.append(1)
        return fit(self, X, y)

    monkeypatch.setattr(FineTuneClassifier, "fit", counted)
    ckpts = {
        1: spec(files, "epoch1.pt"),
        3: spec(files, "epoch3.pt"),
        4: spec(files, "broken.pt"),
    }
    kwargs = dict(
        scorers="logme",
        finetune=FT,
        X_test=Xt,
        y_test=yt,
        image_size=32,
        cache_dir=tmp_path / "cache",
    )
    first = checkpoint_trajectory(ckpts, X, y, **kwargs)
    assert len(calls) == 2  # the broken checkpoint fails before fitting
    again = checkpoint_trajectory(ckpts, X, y, **kwargs)
    assert len(calls) == 2  # nothing fine-tuned twice
    ok = again["checkpoint"] != "4"
    assert again.loc[ok, "from_cache"].all()
    assert not again.loc[~ok, "from_cache"].any()  # error rows are recomputed
    np.testing.assert_array_equal(again.loc[ok, "value"], first.loc[ok, "value"])
    changed = checkpoint_trajectory(
        ckpts, X, y, **{**kwargs, "finetune": {**FT, "learning_rate": 0.02}}
    )
    assert len(calls) == 4  # other fine-tuning parameters: a fresh row
    assert not changed.loc[changed["kind"] == "finetune", "from_cache"].any()


def test_regression_fine_tunes_a_regressor(data, files):
    X, y, Xt, yt = data
    traj = checkpoint_trajectory(
        {1: spec(files, "epoch1.pt")},
        X,
        y.astype(float) + 0.5,
        scorers="logme",
        finetune=FineTuneRegressor("x", **FT, image_size=32, random_state=0),
        X_test=Xt,
        y_test=yt.astype(float) + 0.5,
        image_size=32,
    )
    assert traj["measure"].tolist() == ["logme", "finetune_r2"]
    assert traj["value"].notna().all()


@pytest.mark.parametrize(
    "label, epoch",
    [
        (3, 3.0),
        (1.5, 1.5),
        ("epoch6", 6.0),
        ("e12", 12.0),
        ("7", 7.0),
        ("final", math.nan),
        (True, math.nan),
    ],
)
def test_epoch_of(label, epoch):
    got = epoch_of(label)
    assert (math.isnan(got) and math.isnan(epoch)) or got == epoch


def test_bad_input(data, files):
    X, y, Xt, yt = data
    one = {1: spec(files, "epoch1.pt")}
    cases = [
        (dict(checkpoints={}), "empty"),
        (dict(checkpoints="test_convnext"), "mapping"),
        (dict(checkpoints=[(1, "a", "b")]), "pairs"),
        (dict(checkpoints=[(1, "a"), ("1", "b")]), "twice"),
        (dict(finetune=True), "X_test and y_test"),
        (dict(finetune="yes", X_test=Xt, y_test=yt), "finetune must be"),
        (dict(finetune={"model": "x"}, X_test=Xt, y_test=yt), "leave 'model'"),
        (dict(finetune=torch.nn.Linear(1, 1), X_test=Xt, y_test=yt), "finetune"),
        (dict(finetune=True, X_test=Xt, y_test=yt[:3]), "one target per image"),
        (dict(y=None), "y"),
    ]
    for kwargs, match in cases:
        args = {"checkpoints": one, "y": y, **kwargs}
        with pytest.raises(ValueError, match=match):
            checkpoint_trajectory(args.pop("checkpoints"), X, args.pop("y"), **args)


def test_plot_checkpoint_trajectory():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    traj = pd.DataFrame(
        {
            "checkpoint": ["a", "b"] * 2,
            "epoch": [np.nan, np.nan] * 2,
            "measure": ["logme"] * 2 + ["finetune_accuracy"] * 2,
            "kind": ["frozen"] * 2 + ["finetune"] * 2,
            "value": [1.0, 3.0, 0.5, 0.7],
            "error": None,
        }
    )
    ax = plot_checkpoint_trajectory(traj, normalize=True)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    for line in ax.get_lines():
        np.testing.assert_allclose(line.get_ydata(), [0.0, 1.0])
    with pytest.raises(ValueError, match="columns"):
        plot_checkpoint_trajectory(traj.drop(columns="kind"))
    with pytest.raises(ValueError, match="empty"):
        plot_checkpoint_trajectory(traj.iloc[:0])


def test_cli_checkpoints(files, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out, png = tmp_path / "traj.csv", tmp_path / "traj.png"
    argv = [
        "analyze",
        "checkpoints",
        spec(files, "epoch1.pt"),
        spec(files, "epoch3.pt"),
        "--data",
        "digits",
        "--max-samples",
        "60",
        "--image-size",
        "32",
        "--finetune-epochs",
        "1",
        "--batch-size",
        "16",
        "--output",
        str(out),
        "--plot",
        str(png),
        "--quiet",
    ]
    assert main(argv) == 0
    table = pd.read_csv(out)
    assert table["checkpoint"].unique().tolist() == ["epoch1", "epoch3"]
    assert table["epoch"].unique().tolist() == [1.0, 3.0]
    assert set(table["measure"]) == {"logme", "linear_probe", "finetune_accuracy"}
    assert png.stat().st_size > 0
    assert "finetune_accuracy" in capsys.readouterr().out
    bad = [
        "analyze",
        "checkpoints",
        spec(files, "epoch1.pt"),
        "--data",
        "digits",
        "--labels",
        "a,b",
        "--quiet",
    ]
    assert main(bad) == 2
    broken = [
        "analyze",
        "checkpoints",
        spec(files, "broken.pt"),
        "--data",
        "digits",
        "--max-samples",
        "20",
        "--image-size",
        "32",
        "--quiet",
        "--scorer",
        "logme",
    ]
    assert main(broken) == 1
