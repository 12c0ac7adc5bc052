import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _isolated_cache_dir(tmp_path, monkeypatch):
    """Keep every cache=True of these tests out of the user's home."""
    monkeypatch.setenv("SKDISCO_CACHE_DIR", str(tmp_path / "default-cache"))


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(6, 40, 40, 3), dtype=np.uint8)
