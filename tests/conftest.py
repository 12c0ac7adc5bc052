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
    with (
        distributed.LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client
