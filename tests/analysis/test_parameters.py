"""Tests of parameter_transferability (Chen et al. 2022) and its CLI."""

import numpy as np
import pandas as pd
import pytest
import torch

from skdisco.analysis import (
    finetune_parameter_transferability,
    parameter_transferability,
    plot_parameter_transferability,
)
from skdisco.cli import main


def _hand_built():
    """Two layers with known differences, plus a bias and a norm weight."""
    r = {
        "a.weight": torch.zeros(3, 2, 1, 1),  # conv, 6 elements
        "a.bias": torch.zeros(3),
        "n.weight": torch.zeros(3),  # a norm: excluded
        "b.weight": torch.zeros(2, 3),  # linear, 6 elements
    }
    A = {
        "a.weight": torch.full((3, 2, 1, 1), 5.0),
        "a.bias": torch.ones(3),
        "n.weight": torch.ones(3),
        "b.weight": torch.full((2, 3), -1.0),
    }
    B = {
        "a.weight": torch.full((3, 2, 1, 1), 4.0),  # D(r,B)=4, D(A,B)=1
        "a.bias": torch.full((3,), 9.0),
        "n.weight": torch.full((3,), 9.0),
        "b.weight": torch.tensor([[1.0, 1.0, 1.0], [-3.0, -3.0, -3.0]]),
    }  # b: D(r,B) = 2, D(A,B) = 2 -> T = 1
    return r, A, B


def test_parameter_transferability_hand_built_values():
    r, A, B = _hand_built()
    frame = parameter_transferability(r, A, B)
    assert frame["group"].tolist() == ["a", "b", "network"]
    np.testing.assert_allclose(frame["d_random"], [4.0, 2.0, 3.0])
    np.testing.assert_allclose(frame["d_pretrained"], [1.0, 2.0, 1.5])
    np.testing.assert_allclose(frame["transferability"], [4.0, 1.0, 2.5])
    assert frame["n_parameters"].tolist() == [6, 6, 12]
    assert frame["level"].tolist() == ["group", "group", "network"]


def test_parameter_transferability_include_linear_only():
    r, A, B = _hand_built()
    frame = parameter_transferability(r, A, B, include=("linear",))
    assert frame["group"].tolist() == ["b", "network"]


def test_parameter_transferability_user_groups_and_callable():
    r, A, B = _hand_built()
    both = parameter_transferability(r, A, B, groups={"all": ["a", r"b\.weight"]})
    # one group of 12 weights: D(r,B) = (24 + 12) / 12, D(A,B) = (6 + 12) / 12
    np.testing.assert_allclose(both["transferability"].iloc[0], 36 / 18)
    same = parameter_transferability(r, A, B, groups=lambda n: "all")
    pd.testing.assert_frame_equal(both, same)


def test_parameter_transferability_unmoved_layer_is_inf_with_warning():
    r, A, _ = _hand_built()
    with pytest.warns(UserWarning, match="did not move"):
        frame = parameter_transferability(r, A, A)
    assert np.isinf(frame["transferability"]).all()


def test_parameter_transferability_identical_everywhere_raises():
    r, _, _ = _hand_built()
    with pytest.raises(ValueError, match="0 / 0"):
        parameter_transferability(r, r, r)


def test_parameter_transferability_mismatch_raises():
    r, A, B = _hand_built()
    B2 = dict(B, **{"b.weight": torch.zeros(3, 3)})
    with pytest.raises(ValueError, match="'b.weight' has different shapes"):
        parameter_transferability(r, A, B2)
    B3 = {k: v for k, v in B.items() if k != "a.weight"}
    with pytest.raises(ValueError, match="'a.weight' is in"):
        parameter_transferability(r, A, B3)
    with pytest.raises(ValueError, match="include"):
        parameter_transferability(r, A, B, include=("norm",))
    with pytest.raises(ValueError, match="match no"):
        parameter_transferability(r, A, B, groups={"x": ["zzz"]})
    with pytest.raises(ValueError, match="must be a state dict"):
        parameter_transferability(r, A, 3)


def _tiny_resnet(seed):
    import timm

    torch.manual_seed(seed)
    return timm.create_model("test_resnet", pretrained=False)


def test_parameter_transferability_timm_groups_and_head_excluded():
    r, A = _tiny_resnet(0), _tiny_resnet(1)
    B = {
        k: v + (0.5 if k.startswith("layer1") else 0.1)
        for k, v in A.state_dict().items()
    }
    frame = parameter_transferability(r, A, B)
    groups = frame[frame["level"] == "group"]
    assert groups["group"].tolist() == [
        "conv1",
        "layer1.0",
        "layer2.0",
        "layer3.0",
        "layer4.0",
        "head",
    ]
    assert groups["is_head"].tolist() == [False] * 5 + [True]
    np.testing.assert_allclose(
        groups["d_pretrained"], [0.1, 0.5, 0.1, 0.1, 0.1, 0.1], rtol=1e-5
    )
    # network value: mean over the five blocks, the head left out
    network = frame["transferability"].iloc[-1]
    np.testing.assert_allclose(network, groups["transferability"].iloc[:5].mean())
    assert not np.isclose(network, groups["transferability"].mean())


def test_parameter_transferability_new_head_is_skipped():
    r, A = _tiny_resnet(0), _tiny_resnet(1)
    B = {k: v + 0.1 for k, v in A.state_dict().items()}
    B["fc.weight"] = torch.zeros(3, B["fc.weight"].shape[1])
    frame = parameter_transferability(r, A, B)
    assert "head" not in frame["group"].tolist()
    assert frame.attrs["skipped"] == ["fc.weight"]


def test_parameter_transferability_files_modules_dicts_agree(tmp_path):
    r, A = _tiny_resnet(0), _tiny_resnet(1)
    B = _tiny_resnet(2)
    paths = []
    for name, m in (("r", r), ("a", A), ("b", B)):
        paths.append(tmp_path / f"{name}.pth")
        torch.save(m.state_dict(), paths[-1])
    from_modules = parameter_transferability(r, A, B)
    from_dicts = parameter_transferability(
        r.state_dict(), A.state_dict(), B.state_dict(), model="test_resnet"
    )
    from_files = parameter_transferability(*map(str, paths), model=r)
    pd.testing.assert_frame_equal(from_modules, from_dicts)
    pd.testing.assert_frame_equal(from_modules, from_files)


def test_finetune_parameter_transferability_tiny_model():
    from skdisco.datasets import load_digit_images

    X, y = load_digit_images(40, size=32)
    frame, scores = finetune_parameter_transferability(
        "test_resnet=random",
        X,
        y,
        X_test=X,
        y_test=y,
        from_random=True,
        finetune_params={"max_epochs": 1, "batch_size": 20},
    )
    assert frame.attrs["numerator"] == "finetuned_from_random"
    assert set(scores) == {"pretrained", "random"}
    assert frame["group"].iloc[-1] == "network"
    assert (frame["d_pretrained"] > 0).all()  # fine-tuning moved every block
    with pytest.raises(ValueError, match="may not set 'random_state'"):
        finetune_parameter_transferability(
            "test_resnet=random", X, y, finetune_params={"random_state": 1}
        )


def test_plot_parameter_transferability_returns_axes():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    r, A, B = _hand_built()
    ax = plot_parameter_transferability(parameter_transferability(r, A, B))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    with pytest.raises(ValueError, match="lacks columns"):
        plot_parameter_transferability(pd.DataFrame({"x": [1]}))


def test_cli_parameters_files(tmp_path, capsys):
    r, A = _tiny_resnet(0), _tiny_resnet(1)
    paths = {}
    for name, sd in (
        ("r", r.state_dict()),
        ("a", A.state_dict()),
        ("b", {k: v + 0.1 for k, v in A.state_dict().items()}),
    ):
        paths[name] = str(tmp_path / f"{name}.pth")
        torch.save(sd, paths[name])
    out = tmp_path / "t.csv"
    status = main(
        [
            "analyze",
            "parameters",
            "--random",
            paths["r"],
            "--pretrained",
            paths["a"],
            "--finetuned",
            paths["b"],
            "--arch",
            "test_resnet",
            "--output",
            str(out),
            "--quiet",
        ]
    )
    assert status == 0
    table = pd.read_csv(out)
    expected = parameter_transferability(
        paths["r"], paths["a"], paths["b"], model="test_resnet"
    )
    np.testing.assert_allclose(table["transferability"], expected["transferability"])
    assert "layer1.0" in capsys.readouterr().out
    assert main(["analyze", "parameters", "--random", paths["r"]]) == 2
    assert main(["analyze", "parameters", "test_resnet=random"]) == 2


def test_cli_parameters_finetune_digits(tmp_path):
    pytest.importorskip("matplotlib")
    out, png = tmp_path / "t.csv", tmp_path / "t.png"
    status = main(
        [
            "analyze",
            "parameters",
            "test_resnet=random",
            "--data",
            "digits",
            "--max-samples",
            "60",
            "--finetune-epochs",
            "1",
            "--batch-size",
            "20",
            "--output",
            str(out),
            "--plot",
            str(png),
            "--quiet",
        ]
    )
    assert status == 0
    table = pd.read_csv(out)
    assert table["group"].tolist()[-1] == "network"
    assert png.stat().st_size > 0


def test_parameter_transferability_layer_groups_and_explicit_head():
    r, A = _tiny_resnet(0), _tiny_resnet(1)
    B = {k: v + 0.1 for k, v in A.state_dict().items()}
    frame = parameter_transferability(r, A, B, groups="layer", head="fc")
    groups = frame[frame["level"] == "group"]
    n_weights = sum(
        1 for k, v in A.state_dict().items() if k.endswith("weight") and v.ndim >= 2
    )
    assert len(groups) == n_weights  # one row per conv/linear layer, head last
    assert groups["group"].iloc[-1] == "head" and groups["is_head"].iloc[-1]
    # numpy arrays are accepted as state-dict values and give the same numbers
    as_numpy = parameter_transferability(
        {k: v.numpy() for k, v in r.state_dict().items()},
        A,
        {k: v.numpy() for k, v in B.items()},
        groups="layer",
        head="fc",
    )
    pd.testing.assert_frame_equal(frame, as_numpy)
