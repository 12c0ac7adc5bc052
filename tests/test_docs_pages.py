"""Every ```python block of every page under docs/ runs, and what it shows is true.

The blocks of one page run in order in one namespace, in a fresh interpreter
whose working directory is a temporary folder (so a page that writes files
writes them there). A block written as a doctest (``>>>`` prompts) is checked as
a doctest, with ELLIPSIS and NORMALIZE_WHITESPACE, so any output a page shows is
the output the code gives today. Pages quote no other transcripts: anything
longer is a gallery example (``examples/``) that the docs build executes.
"""

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.M | re.S)

RUNNER = textwrap.dedent(
    """
    import doctest, json, sys
    blocks = json.loads(open(sys.argv[1]).read())
    namespace = {"__name__": "__page__"}
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    parser, failed = doctest.DocTestParser(), 0
    for i, (line, code) in enumerate(blocks):
        if ">>>" in code:
            test = parser.get_doctest(code, namespace, f"block{i}", sys.argv[2], line)
            runner = doctest.DocTestRunner(optionflags=flags)
            runner.run(test, out=sys.stderr.write, clear_globs=False)
            namespace.update(test.globs)
            failed += runner.failures
        else:
            exec(compile(code, f"{sys.argv[2]} (block at line {line})", "exec"),
                 namespace)
    sys.exit(1 if failed else 0)
    """
)


def python_blocks(text):
    """``[(line number, code)]`` of the page's python blocks, in order."""
    return [
        (text.count("\n", 0, m.start()) + 2, m.group(1)) for m in FENCE.finditer(text)
    ]


def test_python_blocks_are_found_in_a_known_page():
    text = "x\n```python\na = 1\n```\ntext\n```python\n>>> a + 1\n2\n```\n"
    assert python_blocks(text) == [(3, "a = 1\n"), (7, ">>> a + 1\n2\n")]


def test_the_runner_fails_on_a_wrong_shown_output(tmp_path):
    assert _run([(1, ">>> 1 + 1\n3\n")], "wrong.md", tmp_path).returncode == 1
    assert _run([(1, ">>> 1 + 1\n2\n")], "right.md", tmp_path).returncode == 0
    assert _run([(1, "a = 1\n"), (3, "b\n")], "name.md", tmp_path).returncode == 1


def _run(blocks, name, tmp_path):
    spec = tmp_path / "blocks.json"
    spec.write_text(json.dumps(blocks))
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER)
    return subprocess.run(
        [sys.executable, str(runner), str(spec), name],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**_env(), "MPLBACKEND": "Agg"},
    )


def _env():
    env = dict(os.environ)
    # the worktree's skdisco wins over an editable install elsewhere
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO),
                                                      env.get("PYTHONPATH")]))
    return env


@pytest.mark.parametrize(
    "page", [p for p in PAGES if python_blocks(p.read_text())],
    ids=lambda p: str(p.relative_to(DOCS)),
)
def test_page_python_blocks_run_as_written(page, tmp_path):
    blocks = python_blocks(page.read_text())
    out = _run(blocks, str(page.relative_to(REPO)), tmp_path)
    assert out.returncode == 0, out.stderr[-4000:]



#: Evidence page -> the Markdown its benchmark script writes (the script's own
#: output; regenerating it is the page's stated command).
ANALYSIS_TABLES = {
    "disco_premise": "disco_premise.md",
    "deng2023": "deng2023_tables.md",
    "chen2022": "chen2022_summary.md",
    "liu2019": "liu2019_summary.md",
}


#: Other pages whose tables are a script's output -> the Markdown files (under
#: benchmarks/results/) the script writes: each table row on the page must be a
#: row of one of them.
RESULT_TABLES = {
    "choosing_a_score": (
        "full/choosing_a_score.md",  # benchmarks/zoo/score_evidence.py
        "quick/seeds_report.md",  # benchmarks/zoo/run.py --stage seeds
    ),
}

DOCS = Path(__file__).resolve().parents[1] / "docs"
RESULTS = DOCS.parent / "benchmarks" / "results"


def _stale_rows(page, written):
    # every table row on the page is a row of the script's Markdown output, so
    # a re-run that changes a number shows up here, not as a stale page
    rows = [
        line.strip() for line in (DOCS / page).read_text().splitlines()
        if line.startswith("|")
    ]
    assert rows, f"docs/{page} shows no table"
    return [row for row in rows if row not in written]


@pytest.mark.parametrize("page", sorted(ANALYSIS_TABLES))
def test_analysis_page_tables_are_their_scripts_output(page):
    # The evidence pages show what benchmarks/analysis/<script>.py wrote.
    written = (RESULTS / "analysis" / ANALYSIS_TABLES[page]).read_text()
    stale = _stale_rows(f"analysis/{page}.md", written)
    assert stale == [], f"rows not in {ANALYSIS_TABLES[page]}: {stale[:3]}"


@pytest.mark.parametrize("page", sorted(RESULT_TABLES))
def test_result_page_tables_are_their_scripts_output(page):
    written = "\n".join((RESULTS / f).read_text() for f in RESULT_TABLES[page])
    stale = _stale_rows(f"{page}.md", written)
    assert stale == [], f"rows not in {RESULT_TABLES[page]}: {stale[:3]}"
