"""Start-up: importing skdisco and asking the CLI for help load neither torch nor timm.

torch and timm (seconds to import) load when a model is first touched. Each
case runs in a fresh interpreter from the repository root and reports which of
the heavy modules it loaded; nothing here is timed (that is
``benchmarks/bench_startup.py``).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "timm", "torchvision", "sklearn", "pandas", "scipy")

_REPORT = f"""
import json, sys
print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
"""

_CLI_HELP = """
import contextlib, io
from skdisco.cli import main
for argv in (["--help"], ["rank", "--help"], ["score", "--help"], ["demo", "--help"]):
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert main(argv) == 0
    assert "usage: skdisco" in out.getvalue()
"""


def _loaded(code):
    result = subprocess.run(
        [sys.executable, "-c", code + _REPORT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "code",
    [
        "import skdisco",
        "import skdisco.selection",
        "import skdisco.scorers",
        "import skdisco.transferability",
        "import skdisco.utils",
        "import skdisco.datasets",
        "import skdisco.cli",
        "import skdisco.features",
        "from skdisco.features import IMAGE_EXTENSIONS, PACKAGE_WEIGHTS",
        "from skdisco.features import load_image_folder",
    ],
)
def test_import_leaves_torch_and_timm_out(code):
    loaded = _loaded(code)
    assert not loaded & {"torch", "timm", "torchvision"}, loaded


def test_cli_help_imports_no_heavy_module():
    # Not even scikit-learn, pandas or scipy: --help is a stdlib-only path.
    assert _loaded(_CLI_HELP) == set()


def test_import_skdisco_loads_no_heavy_module():
    assert _loaded("import skdisco; skdisco.__version__") == set()


def test_model_touch_imports_torch():
    # The oracle the cases above rely on: the report does see torch once loaded.
    loaded = _loaded("import skdisco; skdisco.TimmFeatureExtractor")
    assert {"torch", "timm"} <= loaded


def test_lazy_package_loads_a_name_once_and_lists_it():
    import skdisco.features as features

    assert "TimmFeatureExtractor" in dir(features)
    first = features.TimmFeatureExtractor
    assert features.__dict__["TimmFeatureExtractor"] is first
    assert first.__module__ == "skdisco.features._timm"
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchName'"):
        features.NoSuchName  # noqa: B018
