"""Plots: files are written, the breakdown is stacked, τ_w is in the title."""

import numpy as np
import pytest
from scipy import stats

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from skdisco.selection import plot_ranking, plot_scores_vs_truth, rank_models  # noqa: E402


@pytest.fixture(scope="module")
def ranking():
    X, y = load_digits(return_X_y=True)
    X, y = X[:400] / 16.0, y[:400]
    rng = np.random.default_rng(0)
    models = {
        "pixels": X,
        "half": X[:, :32],
        "noise": rng.normal(size=(400, 20)),
        "broken": np.full((400, 5), np.nan),
    }
    return rank_models(models, y=y, scorers=["disco", "logme"])


def test_plot_ranking_stacks_disco_components(ranking, tmp_path):
    ax = plot_ranking(ranking, "disco")
    n_groups = len(ranking.filter(like="disco_contribution_").columns)
    assert len(ax.patches) == 3 * n_groups  # three models drawn, one bar per group
    assert [t.get_text() for t in ax.get_yticklabels()] == ["noise", "half", "pixels"]
    assert "1 failed: broken" in ax.get_title()
    widths = np.zeros(3)
    for bar in ax.patches:
        widths[int(round(bar.get_y() + bar.get_height() / 2))] += bar.get_width()
    expected = ranking.set_index("model").loc[["noise", "half", "pixels"], "disco"]
    np.testing.assert_allclose(widths, expected, rtol=1e-10)
    path = tmp_path / "ranking.png"
    ax.figure.savefig(path)
    plt.close(ax.figure)
    assert path.stat().st_size > 1000


def test_plot_ranking_without_breakdown_draws_one_bar_per_model(ranking):
    ax = plot_ranking(ranking, "logme")
    assert len(ax.patches) == 3
    plt.close(ax.figure)


def test_plot_scores_vs_truth_titles_weighted_tau(ranking, tmp_path):
    truth = {"pixels": 95.0, "half": 80.0, "noise": 20.0, "broken": 50.0}
    ax = plot_scores_vs_truth(ranking, truth, "logme")
    finite = ranking.dropna(subset=["logme"]).set_index("model")
    tau = stats.weightedtau(finite["logme"], [truth[m] for m in finite.index]).statistic
    assert f"= {tau:.3f} (3 models)" in ax.get_title()
    path = tmp_path / "truth.png"
    ax.figure.savefig(path)
    plt.close(ax.figure)
    assert path.stat().st_size > 1000


def test_plots_reject_unknown_scorer(ranking):
    with pytest.raises(ValueError, match="not a column"):
        plot_ranking(ranking, "sfda")
