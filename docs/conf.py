"""Sphinx configuration of skdisco's site.

Build (offline, warnings as errors), from the repository root::

    python3 -m sphinx -W --keep-going -b html docs docs/_build/html

The API reference is generated at build time from the ``__all__`` of every
public module (``docs/tools/apiref.py``); the gallery runs ``examples/``
(sphinx-gallery); intersphinx reads the inventories shipped in
``docs/_inventories/`` (``docs/tools/make_inventories.py``), so nothing is
downloaded.
"""

import inspect
import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
# The checkout being documented, not an installed copy elsewhere.
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(DOCS / "tools"))
os.environ.setdefault("MPLBACKEND", "Agg")

import apiref  # noqa: E402
import make_inventories  # noqa: E402

import skdisco  # noqa: E402

project = "skdisco"
author = "skdisco developers"
copyright = "skdisco developers"
release = skdisco.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    # MathJax 3 from the package, copied into _static/mathjax: maths render
    # offline (sphinx.ext.mathjax alone loads it from a CDN).
    "sphinx-mathjax-offline",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "tools", "_inventories"]

# Every reference must resolve: to a page of this site or, through the shipped
# inventories, to the libraries' own documentation.
# None is ignored: the class pages show no base classes (scikit-learn's and
# skdisco's private mixins have no page), and the inventories list every public
# object of the libraries the docstrings name.
nitpicky = True

# -- API reference -----------------------------------------------------------
apiref.write_api_index(DOCS / "api" / "index.rst")
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"member-order": "groupwise"}
autodoc_typehints = "none"  # the numpydoc sections carry the types
numpydoc_show_class_members = False  # autodoc's :members: lists them
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()  # tests/test_docstrings.py validates
# Types in Parameters / Returns link to their documentation (as scikit-learn's).
numpydoc_xref_param_type = True
numpydoc_xref_aliases = {
    "ndarray": "numpy.ndarray",
    "array-like": ":term:`array-like <sklearn:array-like>`",
    "DataFrame": "pandas.DataFrame",
    "Series": "pandas.Series",
    "Path": "pathlib.Path",
    "path-like": "os.PathLike",
    "Tensor": "torch.Tensor",
    "Module": "torch.nn.Module",
    "Axes": "matplotlib.axes.Axes",
    "estimator": "sklearn.base.BaseEstimator",
    "RandomState": "numpy.random.RandomState",
    "Generator": "numpy.random.Generator",
}
numpydoc_xref_ignore = "all"
add_module_names = False


def _defined_outside_skdisco(obj):
    """Whether a class member comes from scikit-learn, torch or Python."""
    target = obj.fget if isinstance(obj, property) else obj
    target = getattr(target, "__func__", target)
    module = getattr(target, "__module__", None)
    if module is None:
        return False
    return not module.split(".")[0] == "skdisco"


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Document methods skdisco defines (incl. inherited from its own bases).

    Methods inherited from scikit-learn (``get_params``, ``set_output``) or
    torch are documented there, as ``tests/test_docstrings.py`` decides.
    """
    if what in ("class", "exception") and (
        inspect.isroutine(obj) or isinstance(obj, property)
    ):
        if _defined_outside_skdisco(obj):
            return True
    return None


# -- MyST (the Markdown pages) ------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 4
myst_dmath_double_inline = True

# -- intersphinx: local inventories first, no download ------------------------
intersphinx_mapping = make_inventories.intersphinx_mapping(DOCS / "_inventories")
intersphinx_timeout = 1

# -- sphinx-gallery -----------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(REPO / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"\.py$",  # execute every example, plot_ or not
    "ignore_pattern": r"__init__\.py",
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "doc_module": ("skdisco",),
    "backreferences_dir": "api/generated/backreferences",
    "reference_url": {"skdisco": None},
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "remove_config_comments": True,
    "min_reported_time": 0,
    "write_computation_times": True,
    "show_memory": False,
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    "plot_gallery": True,
}

# -- HTML ---------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skdisco {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    "navbar_end": ["theme-switcher"],
}
html_show_sourcelink = False
html_copy_source = False


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)
