"""Shared fixtures: the published reference values and their seeded cases."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def reference_dir():
    """Where ``reference_scores.json`` and the ``*.npz`` cases live.

    ``$SKDISCO_REFERENCE_DIR`` if set, else ``../shared/reference`` beside the
    checkout (where CI places it).
    """
    env = os.environ.get("SKDISCO_REFERENCE_DIR")
    return Path(env) if env else REPO.parent / "shared" / "reference"


def _require_reference():
    path = reference_dir()
    if not (path / "reference_scores.json").is_file():
        msg = f"reference values not found in {path}"
        if os.environ.get("CI"):
            pytest.fail(msg + " (CI must have ../shared beside the checkout)")
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def reference_scores():
    """``cases`` of reference_scores.json: case name -> key -> value."""
    path = _require_reference()
    return json.loads((path / "reference_scores.json").read_text())["cases"]


@pytest.fixture(scope="session")
def load_case():
    """Load one reference case (``*.npz``) as a dict of arrays."""
    path = _require_reference()

    def load(name):
        with np.load(path / f"{name}.npz") as z:
            return {k: z[k] for k in z.files}

    return load


@pytest.fixture
def two_worker_dask_client():
    """A ``dask.distributed`` client of a local cluster of two worker processes
    (one thread each); skipped without ``distributed``."""
    distributed = pytest.importorskip("dask.distributed")
    import dask

    # Without work stealing a task runs where its input block lives, so a test
    # that pins blocks to both workers (``blocks_on_each_worker``) sees both
    # reduce; with it, an idle worker may take every task of a small graph.
    with (
        dask.config.set({"distributed.scheduler.work-stealing": False}),
        distributed.LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture
def blocks_on_each_worker():
    """``spread(client, X, n_blocks)``: see :func:`_blocks_on_each_worker`."""
    return _blocks_on_each_worker


def _blocks_on_each_worker(client, X, n_blocks=8):
    """A Dask array of ``X`` in ``n_blocks`` row blocks, scattered round-robin
    to the client's workers so that every worker holds (and, without work
    stealing, reduces) some of them; the scheduler alone may put a small
    array's blocks all on one worker."""
    import dask.array as da

    workers = sorted(client.scheduler_info()["workers"])
    parts = np.array_split(np.asarray(X), n_blocks)
    blocks = [
        da.from_delayed(
            client.scatter(part, workers=[workers[i % len(workers)]]),
            shape=part.shape,
            dtype=part.dtype,
        )
        for i, part in enumerate(parts)
    ]
    return da.concatenate(blocks, axis=0)
