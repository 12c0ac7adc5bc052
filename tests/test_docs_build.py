"""The documentation site builds offline, warnings as errors, and its links resolve.

The build command is the README's (``<!-- build-docs -->``), run here into a
temporary folder: ``-W --keep-going`` fails on any Sphinx, docutils, numpydoc,
MyST, intersphinx or gallery warning, and ``nitpicky`` (``docs/conf.py``) makes
every unresolved cross-reference one. Without Sphinx and its extensions (the
``docs`` extra, part of ``test``) the build tests skip locally and FAIL under
``CI=true``.
"""

import ast
import importlib.util
import os
import re
import shlex
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
README = (REPO / "README.md").read_text()
DOCS_PACKAGES = (
    "sphinx",
    "pydata_sphinx_theme",
    "sphinx_gallery",
    "myst_parser",
    "numpydoc",
    "matplotlib",
    "sphinx-mathjax-offline",
)


def _load_tool(name):
    spec = importlib.util.spec_from_file_location(name, DOCS / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check_links = _load_tool("check_links")
make_inventories = _load_tool("make_inventories")


def _require_docs_packages():
    missing = [p for p in DOCS_PACKAGES if importlib.util.find_spec(p) is None]
    if missing:
        message = f"the docs extra is not installed (missing: {', '.join(missing)})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + "; CI must build the site.")
        pytest.skip(message)


def readme_build_command():
    """The README's one documented build command, split into its two steps."""
    m = re.search(r"<!-- build-docs -->\s*```bash\n(.+?)\n```", README, re.S)
    assert m, "README has no ```bash block after <!-- build-docs -->"
    install, build = (part.strip() for part in m.group(1).strip().split("&&"))
    return install, build


def test_readme_build_command_installs_the_docs_extra_and_runs_sphinx_strictly():
    install, build = readme_build_command()
    assert install == 'python3 -m pip install -e ".[docs]"'
    argv = shlex.split(build)
    assert argv[:3] == ["python3", "-m", "sphinx"]
    assert "-W" in argv and "--keep-going" in argv
    assert argv[-2:] == ["docs", "docs/_build/html"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built with the README's command, into a temporary folder."""
    _require_docs_packages()
    _, build = readme_build_command()
    argv = shlex.split(build)
    out = tmp_path_factory.mktemp("site") / "html"
    argv = [sys.executable, *argv[1:-1], str(out)]  # same flags, this Python
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(REPO)}
    start = time.perf_counter()
    run = subprocess.run(
        argv, cwd=REPO, capture_output=True, text=True, env=env, timeout=1200
    )
    seconds = time.perf_counter() - start
    warnings = [
        line for line in run.stderr.splitlines() if "WARNING" in line or "ERROR" in line
    ]
    print(f"docs build: {seconds:.1f} s, {len(warnings)} warnings")
    assert run.returncode == 0 and not warnings, (
        f"the site does not build cleanly ({len(warnings)} warnings):\n"
        + "\n".join(warnings or run.stderr.splitlines()[-30:])
    )
    return out


@pytest.mark.slow
def test_site_internal_links_and_anchors_resolve(site):
    problems, n_checked = check_links.check_site(site)
    assert n_checked > 1000
    assert not problems, "\n".join(problems[:50])


@pytest.mark.slow
def test_site_has_a_page_for_every_public_object(site):
    from skdisco.utils.discovery import all_public_objects

    missing = [
        path
        for path, _ in all_public_objects()
        if not (site / "api" / "generated" / f"{path}.html").is_file()
    ]
    assert not missing
    index = (site / "api" / "index.html").read_text()
    order = [
        index.index(f'id="api-{layer}"')
        for layer, _ in _load_tool("apiref").LAYERS
        if f'id="api-{layer}"' in index
    ]
    assert len(order) >= 7 and order == sorted(order)


@pytest.mark.slow
def test_site_links_scikit_learn_through_the_shipped_inventory(site):
    page = site / "api" / "generated" / "skdisco.utils.discovery.all_estimators.html"
    logme = site / "api" / "generated" / "skdisco.transferability.logme.html"
    glossary = "https://scikit-learn.org/stable/glossary.html#term-array-like"
    assert f'href="{glossary}"' in logme.read_text()  # a parameter's type
    url = (
        "https://scikit-learn.org/stable/modules/generated/"
        "sklearn.base.BaseEstimator.html#sklearn.base.BaseEstimator"
    )
    assert f'href="{url}"' in page.read_text()


@pytest.mark.slow
def test_site_gallery_ran_the_examples_and_reports_their_times(site):
    example = (site / "auto_examples" / "plot_quickstart.html").read_text()
    assert "Lite0, ImageNet" in example  # the printed table, produced by the build
    assert "sphx-glr-single-img" in example  # the figure it drew
    assert (site / "sg_execution_times.html").is_file()


@pytest.mark.slow
def test_site_renders_class_methods_skdisco_defines_not_inherited_ones(site):
    page = (site / "api" / "generated" / "skdisco.scorers.LogMEScorer.html").read_text()
    assert 'id="skdisco.scorers.LogMEScorer.partial_fit"' in page
    assert 'id="skdisco.scorers.LogMEScorer.score"' in page  # from BaseScorer
    assert "LogMEScorer.get_params" not in page  # scikit-learn documents it


def test_myst_settings_render_dollar_and_display_maths(tmp_path):
    _require_docs_packages()
    tree = ast.parse((DOCS / "conf.py").read_text())
    settings = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id.startswith("myst_")
    }
    assert {"dollarmath", "amsmath", "colon_fence"} <= set(
        settings["myst_enable_extensions"]
    )
    mathjax = [
        name
        for node in tree.body
        if isinstance(node, ast.Assign)
        and getattr(node.targets[0], "id", None) == "extensions"
        for name in ast.literal_eval(node.value)
        if "mathjax" in name
    ]
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(
        f"extensions = {['myst_parser', *mathjax]!r}\n"
        + "".join(f"{k} = {v!r}\n" for k, v in settings.items())
    )
    (src / "index.md").write_text(
        "# Maths\n\nInline $\\sigma_1^2$ and display:\n\n$$\nS = \\sum_i x_i\n$$\n\n"
        "## A heading\n\n[link](#a-heading)\n"
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "-q",
            "-b",
            "html",
            str(src),
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    html = (tmp_path / "out" / "index.html").read_text()
    assert 'class="math notranslate nohighlight">\\(\\sigma_1^2\\)' in html
    assert "\\[S = \\sum_i x_i\\]" in html
    assert 'id="a-heading"' in html
    # MathJax is served from the site itself, not a CDN: maths render offline.
    scripts = re.findall(r'<script[^>]*src="([^"]*mathjax[^"]*)"', html, re.I)
    assert scripts == ["_static/mathjax/tex-chtml.js"], scripts
    assert (tmp_path / "out" / "_static" / "mathjax" / "tex-chtml.js").is_file()


def test_missing_docs_packages_fail_under_ci_and_skip_locally(monkeypatch):
    real = importlib.util.find_spec

    def find_spec(name, *args):
        return None if name == "sphinx_gallery" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="missing: sphinx_gallery"):
        _require_docs_packages()
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="docs extra is not installed"):
        _require_docs_packages()


def test_check_links_finds_missing_files_and_anchors(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "index.html").write_text(
        '<a href="sub/page.html#here">ok</a> <a href="#top">self</a>'
        '<p id="top"></p> <a href="sub/page.html#gone">bad anchor</a>'
        '<a href="missing.html">bad file</a> <a href="https://example.org/x">ext</a>'
        '<img src="sub/">'
    )
    (tmp_path / "sub" / "page.html").write_text('<h1 id="here">x</h1>')
    (tmp_path / "sub" / "index.html").write_text('<a href="../index.html#top">up</a>')
    problems, n_checked = check_links.check_site(tmp_path)
    assert n_checked == 6  # the external link is not checked
    assert len(problems) == 2
    assert "sub/page.html#gone -> no id 'gone'" in problems[1]
    assert "missing.html -> no such file" in problems[0]


def test_check_links_refuses_a_missing_folder(tmp_path):
    with pytest.raises(ValueError, match="build the site first"):
        check_links.check_site(tmp_path / "nothing")


def _inventory(key):
    data = (DOCS / "_inventories" / f"{key}.inv").read_bytes()
    header, _, body = data.partition(b"zlib.\n")
    assert header.startswith(b"# Sphinx inventory version 2")
    entries = {}
    for line in zlib.decompress(body).decode().splitlines():
        name, role, _prio, uri, _disp = line.split(" ")
        entries[name] = (role, uri.replace("$", name) if uri.endswith("$") else uri)
    return entries


@pytest.mark.parametrize(
    "key, name, role, uri",
    [
        (
            "sklearn",
            "sklearn.base.BaseEstimator",
            "py:class",
            "modules/generated/sklearn.base.BaseEstimator.html#sklearn.base.BaseEstimator",
        ),
        (
            "sklearn",
            "sklearn.base.BaseEstimator.get_params",
            "py:method",
            "modules/generated/sklearn.base.BaseEstimator.html"
            "#sklearn.base.BaseEstimator.get_params",
        ),
        (
            "numpy",
            "numpy.linalg.eigh",
            "py:function",
            "reference/generated/numpy.linalg.eigh.html#numpy.linalg.eigh",
        ),
        (
            "numpy",
            "numpy.float64",
            "py:class",
            "reference/arrays.scalars.html#numpy.float64",
        ),
        (
            "scipy",
            "scipy.linalg.eigh",
            "py:function",
            "reference/generated/scipy.linalg.eigh.html#scipy.linalg.eigh",
        ),
        (
            "torch",
            "torch.nn.Module",
            "py:class",
            "generated/torch.nn.Module.html#torch.nn.Module",
        ),
        ("torch", "torch.Tensor", "py:class", "tensors.html#torch.Tensor"),
        (
            "timm",
            "timm.create_model",
            "py:function",
            "reference/models#timm.create_model",
        ),
        (
            "timm",
            "timm.data.create_transform",
            "py:function",
            "reference/data#timm.data.create_transform",
        ),
        ("python", "pathlib.Path", "py:class", "library/pathlib.html#pathlib.Path"),
        ("python", "dict", "py:class", "library/stdtypes.html#dict"),
        ("python", "callable", "py:function", "library/functions.html#callable"),
        ("python", "sequence", "std:term", "glossary.html#term-sequence"),
        (
            "python",
            "bltin-boolean-values",
            "std:label",
            "library/stdtypes.html#bltin-boolean-values",
        ),
        ("sklearn", "array-like", "std:term", "glossary.html#term-array-like"),
        (
            "pandas",
            "pandas.DataFrame",
            "py:class",
            "reference/api/pandas.DataFrame.html#pandas.DataFrame",
        ),
        (
            "joblib",
            "joblib.Parallel",
            "py:class",
            "generated/joblib.Parallel.html#joblib.Parallel",
        ),
    ],
)
def test_shipped_inventories_use_the_projects_url_schemes(key, name, role, uri):
    assert _inventory(key)[name] == (role, uri)


def test_inventory_bytes_round_trip_through_sphinx(tmp_path):
    _require_docs_packages()
    from sphinx.util.inventory import InventoryFile

    entries = {
        "pkg": ("module", "pkg"),
        "pkg.f": ("function", "pkg.f"),
        "pkg.C": ("class", "pkg.C"),
        "pkg.C.m": ("method", "pkg.C"),
    }
    data = make_inventories.inventory_bytes(
        "pkg", "1.0", entries, lambda name, role, owner: f"api/{owner}.html#$"
    )
    inv = InventoryFile.loads(data, uri="https://pkg.org/")
    assert inv.data["py:method"]["pkg.C.m"].uri == (
        "https://pkg.org/api/pkg.C.html#pkg.C.m"
    )
    assert inv.data["py:function"]["pkg.f"].project_name == "pkg"


def test_intersphinx_mapping_reads_the_local_file_first():
    mapping = make_inventories.intersphinx_mapping(DOCS / "_inventories")
    assert set(mapping) >= {"sklearn", "numpy", "scipy", "torch", "timm"}
    for url, (local, fallback) in mapping.values():
        assert url.startswith("https://") and Path(local).is_file()
        assert fallback is None
