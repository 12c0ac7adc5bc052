"""The README's commands are what CI runs, and its quick start runs as written."""

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
CI = (REPO / ".ci" / "run").read_text()


def _block_after(marker):
    m = re.search(rf"<!-- {marker} -->\s*```bash\n(.+?)\n```", README, re.S)
    assert m, f"README has no ```bash block after <!-- {marker} -->"
    return m.group(1).strip()


def _ci_section(name):
    m = re.search(rf"# README-{name}-BEGIN\n(.+?)\n# README-{name}-END", CI, re.S)
    assert m, f".ci/run has no README-{name} section"
    return m.group(1).strip()


def test_ci_runs_the_readme_install_and_test_commands():
    install_and_test = _block_after("install-and-test")
    install, test = _ci_section("INSTALL"), _ci_section("TEST")
    assert install_and_test == f"{install} && {test}"


def test_ci_installs_the_readme_datasets():
    assert _block_after("install-data") == _ci_section("DATA")


def test_readme_main_job_installs_like_the_test_command():
    run = _block_after("install-and-run")
    assert run.startswith(_ci_section("INSTALL") + " && ")


def test_readme_quick_start_runs_as_written(tmp_path):
    blocks = re.findall(r"```python\n(.+?)\n```", README, re.S)
    assert blocks, "README has no python quick start"
    script = tmp_path / "quick_start.py"
    script.write_text("\n\n".join(blocks))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}  # this checkout
    out = subprocess.run([sys.executable, str(script)], capture_output=True,
                         text=True, timeout=300, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert "LogME" in out.stdout
    # "Rank real backbones" shows progress by default: one line per model
    assert "[2/2] efficientnet-lite" in out.stderr
