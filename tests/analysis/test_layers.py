"""layerwise_scores on constructed models whose block outputs are known."""

import numpy as np
import pytest
import torch

from skdisco.analysis import layer_features, layerwise_scores, plot_layerwise_scores
from skdisco.cli import main
from skdisco.datasets import load_digit_images
from skdisco.features import TimmFeatureExtractor
from skdisco.scorers import LogMEScorer


class Square(torch.nn.Module):
    def forward(self, x):
        return x * x


class Counted(torch.nn.Module):
    """A block counting how often it runs (the count survives deep copies)."""

    calls = []

    def forward(self, x):
        Counted.calls.append(x.shape[0])
        return x


def known_net():
    conv = torch.nn.Conv2d(3, 2, kernel_size=1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(
            torch.tensor([[1.0, -2.0, 0.5], [0.0, 1.0, 3.0]])[..., None, None]
        )
    return torch.nn.Sequential(Counted(), Square(), conv)


def images(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n, 3, 6, 6)).astype(np.float32)
    y = (X[:, 0].mean(axis=(1, 2)) > 0.5).astype(int) + 2 * (
        X[:, 1].mean(axis=(1, 2)) > 0.5
    )
    return X, y


def test_known_blocks_give_known_features_and_scores():
    X, y = images()
    W = np.array([[1.0, -2.0, 0.5], [0.0, 1.0, 3.0]])
    expected = {
        "0": X.mean(axis=(2, 3)),
        "1": (X**2).mean(axis=(2, 3)),
        "2": (X**2).mean(axis=(2, 3)) @ W.T,  # a 1x1 conv commutes with averaging
    }
    table = layerwise_scores(
        known_net(),
        X,
        y,
        preprocessing="passthrough",
        scorers=["logme", "linear_probe"],
        batch_size=16,
    )
    assert table["layer"].tolist() == ["0", "0", "1", "1", "2", "2"]
    assert table["depth"].tolist() == [0, 0, 1, 1, 2, 2]
    assert table["n_features"].tolist() == [3, 3, 3, 3, 2, 2]
    assert table["error"].isna().all()
    feats = layer_features(known_net(), X, preprocessing="passthrough")
    for name, F in expected.items():
        np.testing.assert_allclose(feats[name], F, rtol=1e-5, atol=1e-6)
        got = table[(table["layer"] == name) & (table["scorer"] == "logme")]
        direct = LogMEScorer().fit(feats[name], y).score_
        assert got["score"].item() == pytest.approx(direct, rel=1e-12)


def test_one_forward_pass_for_all_layers_of_a_module():
    X, y = images(n=20)
    Counted.calls.clear()
    layerwise_scores(known_net(), X, y, preprocessing="passthrough", batch_size=8)
    assert Counted.calls == [8, 8, 4]  # 3 batches, once each, for 3 layers


def test_one_forward_pass_for_all_stages_of_a_timm_model():
    import timm

    torch.manual_seed(0)
    model = timm.create_model("test_convnext", num_classes=0)
    calls = []
    model.stem.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    X, y = load_digit_images(30)
    table = layerwise_scores(model, X, y, image_size=32, batch_size=16)
    assert calls == [16, 14]
    assert table["layer"].tolist() == [
        "stages.0",
        "stages.1",
        "stages.2",
        "stages.3",
        "pre_logits",
    ]


def test_timm_layers_equal_the_single_layer_extractor():
    X, y = load_digit_images(30)
    feats = layer_features("test_efficientnet=random", X, image_size=32)
    names = list(feats)
    assert names[-1] == "pre_logits" and len(names) == 6
    base = dict(pretrained=False, random_state=0, image_size=32)
    for i, name in enumerate(names[:-1]):
        ref = TimmFeatureExtractor("test_efficientnet", layer=i, **base).fit()
        np.testing.assert_allclose(feats[name], ref.transform(X), rtol=1e-5, atol=1e-6)
    ref = TimmFeatureExtractor("test_efficientnet", **base).fit()
    np.testing.assert_allclose(
        feats["pre_logits"], ref.transform(X), rtol=1e-5, atol=1e-6
    )


def test_named_and_indexed_layers_and_cls_pooling():
    X, y = load_digit_images(30)
    by_name = layer_features(
        "test_convnext=random", X, image_size=32, layers=["stages.1", "head.norm"]
    )
    by_index = layer_features("test_convnext=random", X, image_size=32, layers=[-3, 3])
    assert list(by_name) == ["stages.1", "head.norm"]
    assert list(by_index) == ["stages.1", "stages.3"]
    np.testing.assert_allclose(by_name["stages.1"], by_index["stages.1"], rtol=1e-6)
    vit = layer_features("test_vit=random", X, image_size=32, pooling="cls")
    assert len(vit) == 7 and all(f.shape == (30, 64) for f in vit.values())


def test_failing_scorer_gives_error_rows_others_kept():
    X, _ = images()
    y = np.linspace(0.0, 1.0, len(X))  # regression: the linear probe cannot score
    table = layerwise_scores(
        known_net(),
        X,
        y,
        preprocessing="passthrough",
        scorers=["logme", "linear_probe"],
    )
    probe = table[table["scorer"] == "linear_probe"]
    assert probe["score"].isna().all() and probe["error"].notna().all()
    logme = table[table["scorer"] == "logme"]
    assert logme["score"].notna().all() and logme["error"].isna().all()


@pytest.mark.parametrize(
    "layers, match",
    [
        (["nope"], "no module named"),
        ([7], "out of range"),
        ([0, "stages.1"], "not a mix"),
        ([], "empty"),
        ([1, 1], "twice"),
    ],
)
def test_bad_layers(layers, match):
    X, y = load_digit_images(20)
    with pytest.raises(ValueError, match=match):
        layerwise_scores("test_convnext=random", X, y, layers=layers, image_size=32)


def test_bad_input():
    X, y = images()
    with pytest.raises(ValueError, match="y"):
        layerwise_scores(known_net(), X, None, preprocessing="passthrough")
    with pytest.raises(ValueError, match="pooling"):
        layerwise_scores(known_net(), X, y, pooling="max")
    with pytest.raises(ValueError, match="forward_intermediates"):
        layerwise_scores(known_net(), X, y, layers=[0], preprocessing="passthrough")
    with pytest.raises(ValueError, match="model must be"):
        layerwise_scores(object(), X, y)
    with pytest.raises(ValueError, match="class token"):
        layer_features(
            "test_convnext=random",
            load_digit_images(20)[0],
            image_size=32,
            pooling="cls",
        )


def test_plot_layerwise_scores():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    X, y = images()
    table = layerwise_scores(
        known_net(), X, y, preprocessing="passthrough", scorers=["logme", "hscore"]
    )
    ax = plot_layerwise_scores(table, normalize=True)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2"]
    assert len(ax.get_lines()) == 2
    for line in ax.get_lines():
        y_drawn = np.asarray(line.get_ydata(), float)
        assert y_drawn.min() == pytest.approx(0) and y_drawn.max() == pytest.approx(1)
    with pytest.raises(ValueError, match="not in the table"):
        plot_layerwise_scores(table, scorer="disco")
    with pytest.raises(ValueError, match="columns"):
        plot_layerwise_scores(table.drop(columns="depth"))


def test_cli_layers(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out, png = tmp_path / "layers.csv", tmp_path / "layers.png"
    status = main(
        [
            "analyze",
            "layers",
            "test_convnext=random",
            "--data",
            "digits",
            "--max-samples",
            "60",
            "--image-size",
            "32",
            "--output",
            str(out),
            "--plot",
            str(png),
            "--quiet",
        ]
    )
    assert status == 0
    import pandas as pd

    table = pd.read_csv(out)
    assert table["layer"].tolist()[-1] == "pre_logits" and len(table) == 5
    assert png.stat().st_size > 0
    printed = capsys.readouterr().out
    assert "stages.3" in printed and "logme" in printed
    assert (
        main(
            [
                "analyze",
                "layers",
                "test_convnext=random",
                "--data",
                "digits",
                "--max-samples",
                "20",
                "--layer",
                "nope",
                "--quiet",
            ]
        )
        == 2
    )
