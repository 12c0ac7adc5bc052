"""The gallery examples are sphinx-gallery scripts that compile.

The docs build (``docs/conf.py``, sphinx-gallery) executes every example; this
test checks what the build needs from each file without running it: it
compiles, its module docstring opens with an RST title (a line underlined by
``=`` of at least its length) followed by prose, it has ``# %%`` cells, and it
touches no network.
"""

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((REPO / "examples").rglob("*.py"))


def gallery_format_problems(source):
    """What keeps ``source`` from being a sphinx-gallery example; [] if nothing."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return [f"does not compile: {exc}"]
    doc = ast.get_docstring(tree, clean=False)
    if doc is None:
        return ["has no module docstring"]
    problems = []
    lines = doc.strip("\n").splitlines()
    if len(lines) < 4:
        return ["docstring needs a title, its underline, a blank line and prose"]
    title, underline = lines[0].strip(), lines[1].strip()
    if not (re.fullmatch(r"=+", underline) and len(underline) >= len(title) > 0):
        problems.append("docstring does not open with a title underlined by '='")
    if lines[2].strip() or not lines[3].strip():
        problems.append("the title is not followed by a blank line and prose")
    source_lines = source.splitlines()
    for i in range(1, len(source_lines)):
        rule = re.fullmatch(r"# ([-=~^])\1+", source_lines[i])
        heading = source_lines[i - 1]
        if rule and heading.startswith("# ") and len(source_lines[i]) < len(heading):
            problems.append(f"cell heading {heading[2:]!r} is underlined too short")
    if "\n# %%" not in source:
        problems.append("has no '# %%' cells")
    if re.search(r"urlopen|requests\.get|pretrained=True", source):
        problems.append("reaches for the network")
    return problems


def test_gallery_format_problems_finds_each_fault():
    good = '"""\nTitle\n=====\n\nProse.\n"""\n\n# %%\nx = 1\n'
    assert gallery_format_problems(good) == []
    assert gallery_format_problems("x = (") [0].startswith("does not compile")
    assert gallery_format_problems("x = 1\n") == ["has no module docstring"]
    short = good.replace("=====", "===")
    assert "underlined" in gallery_format_problems(short)[0]
    cell = good + "# %%\n# Cell τ title\n# " + "-" * 11 + "\n"  # title: 12
    assert "underlined too short" in gallery_format_problems(cell)[0]
    assert gallery_format_problems(cell.replace("# -", "# --")) == []
    assert gallery_format_problems(good.replace("# %%", "#")) == [
        "has no '# %%' cells"
    ]


def test_there_are_examples():
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(REPO)))
def test_example_is_a_sphinx_gallery_script(path):
    assert gallery_format_problems(path.read_text()) == []
