"""One score's statistics reduced across the workers of a Dask cluster."""

import numpy as np
import pytest

from skdisco.scorers import GBCScorer
from skdisco.transferability import hscore, logme

distributed = pytest.importorskip("dask.distributed")
da = pytest.importorskip("dask.array")


@pytest.mark.slow
def test_block_statistics_are_reduced_on_both_workers_of_a_cluster(
    two_worker_dask_client, blocks_on_each_worker
):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 2000)
    X = rng.normal(size=(2000, 16)) + y[:, None]
    expected = {
        "logme": logme(X, y),
        "hscore": hscore(X, y),
        "gbc": GBCScorer(n_components=4).fit(X, y).score_,
    }
    client = two_worker_dask_client
    workers = set(client.scheduler_info()["workers"])
    # Eight blocks living on the workers, four on each: only statistics come back.
    features = blocks_on_each_worker(client, X, n_blocks=8)
    got = {}
    for name, score in [
        ("logme", lambda F: logme(F, y)),
        ("hscore", lambda F: hscore(F, y)),
        ("gbc", lambda F: GBCScorer(n_components=4).fit(F, y).score_),
    ]:
        with distributed.get_task_stream(client) as stream:
            got[name] = score(features)
        ran = {
            task["worker"]
            for task in stream.data
            if str(task["key"]).startswith("_block_statistics")
        }
        assert ran == workers, name  # both workers reduced blocks
    for name, value in got.items():
        assert value == pytest.approx(expected[name], rel=1e-9), name
