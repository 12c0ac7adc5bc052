"""Write the intersphinx inventories the site links through, offline.

The build must work without a network, so ``docs/_inventories/`` ships one
Sphinx v2 inventory (``<project>.inv``) per library the docstrings point to.
They are made here by introspecting the INSTALLED packages' public API
(modules' ``__all__`` or public names, their classes and functions, and the
classes' public methods and properties) and giving each object the URL that
the project's real documentation uses for it::

    python3 docs/tools/make_inventories.py            # all projects
    python3 docs/tools/make_inventories.py sklearn    # one

URL schemes (``$`` is the object's name, as in Sphinx inventories):

=============  ==============================================================
scikit-learn   ``https://scikit-learn.org/stable/modules/generated/<obj>.html#$``
               (methods on their class's page; modules ``api/<module>.html``)
numpy          ``https://numpy.org/doc/stable/reference/generated/<obj>.html#$``
               (scalar types on ``arrays.scalars.html``; ``numpy.random``'s
               ``Generator`` on ``random/generator.html``)
scipy          ``https://docs.scipy.org/doc/scipy/reference/generated/<obj>.html#$``
torch          ``https://docs.pytorch.org/docs/stable/generated/<obj>.html#$``
               (``torch.Tensor`` on ``tensors.html``, ``torch.utils.data`` on
               ``data.html``, ``torch.dtype``/``device`` on
               ``tensor_attributes.html``)
timm           ``https://huggingface.co/docs/timm/reference/<page>#$``
python         ``https://docs.python.org/3/library/<module>.html#$``
pandas         ``https://pandas.pydata.org/docs/reference/api/<obj>.html#$``
matplotlib     ``https://matplotlib.org/stable/api/_as_gen/<obj>.html#$``
joblib         ``https://joblib.readthedocs.io/en/stable/generated/<obj>.html#$``
=============  ==============================================================

Approximations, by design: timm's Hugging Face reference is not one page per
object but a few pages (``models``, ``data``, ``optimizers``, ``schedulers``)
whose anchors are the objects' dotted names; every object of ``timm``
(``timm.create_model``...) maps to the page of its subpackage, anchored by its
name, and objects that page does not describe land at its top. For the other
projects the scheme is the one their Sphinx sites use; an object their real
inventory files elsewhere (a handful of aliases) gets a link to a page that
may not exist. Only public names are listed, so an inventory stays small.

To refresh from the real inventories when online, replace the introspected
files with the projects' own ``objects.inv``::

    python3 docs/tools/make_inventories.py --from-web

``docs/conf.py`` maps each project to ``(url, (local file, None))``: the
local file first, the network only if the local file is missing (which, with
``-W``, fails the build offline: the files are meant to be committed).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
import sys
import zlib
from pathlib import Path

#: Project key -> (project name, documentation base URL).
PROJECTS = {
    "python": ("Python", "https://docs.python.org/3/"),
    "numpy": ("NumPy", "https://numpy.org/doc/stable/"),
    "scipy": ("SciPy", "https://docs.scipy.org/doc/scipy/"),
    "sklearn": ("scikit-learn", "https://scikit-learn.org/stable/"),
    "torch": ("PyTorch", "https://docs.pytorch.org/docs/stable/"),
    "timm": ("timm", "https://huggingface.co/docs/timm/"),
    "pandas": ("pandas", "https://pandas.pydata.org/docs/"),
    "matplotlib": ("Matplotlib", "https://matplotlib.org/stable/"),
    "joblib": ("joblib", "https://joblib.readthedocs.io/en/stable/"),
}

# --------------------------------------------------------------------------
# Introspection: (name, role) pairs for one package's public API.
# --------------------------------------------------------------------------


def _public_names(module, package):
    """The names a module makes public: ``__all__``, or what it defines."""
    names = getattr(module, "__all__", None)
    if names is not None:
        return [n for n in names if isinstance(n, str) and not n.startswith("_")]
    found = []
    for name in dir(module):
        if name.startswith("_"):
            continue
        obj = getattr(module, name, None)
        home = getattr(obj, "__module__", None) or ""
        if (inspect.isclass(obj) or inspect.isroutine(obj)) and (
            home.split(".")[0] == package
        ):
            found.append(name)
    return found


def _members(cls, package):
    """Public methods and properties of a class defined inside ``package``."""
    out = []
    for name in dir(cls):
        if name.startswith("_"):
            continue
        owner = next((c for c in cls.__mro__ if name in vars(c)), None)
        if owner is None:
            continue
        if (getattr(owner, "__module__", "") or "").split(".")[0] != package:
            continue
        raw = vars(owner)[name]
        if isinstance(raw, property):
            out.append((name, "property"))
        elif inspect.isroutine(raw) or isinstance(raw, (classmethod, staticmethod)):
            out.append((name, "method"))
        elif type(raw).__name__ in ("getset_descriptor", "member_descriptor"):
            out.append((name, "attribute"))
    return out


def introspect(module_names, package, *, members=True):
    """Objects of the public API of the named modules.

    Parameters
    ----------
    module_names : list of str
        Modules to list (each also gets a ``py:module`` entry).
    package : str
        Top-level package: only classes and methods defined inside it count.
    members : bool, default=True
        Whether to list the classes' public methods and properties.

    Returns
    -------
    entries : dict
        Dotted name -> ``(role, owner)``: the role is ``"module"``,
        ``"class"``, ``"exception"``, ``"function"``, ``"method"``,
        ``"property"``, ``"attribute"`` or ``"data"``; the owner is the dotted
        name of the class that documents a member, else the name itself.
    """
    entries = {}
    for module_name in module_names:
        try:
            module = importlib.import_module(module_name)
        except Exception:  # an optional dependency missing: skip the module
            continue
        entries[module_name] = ("module", module_name)
        for name in _public_names(module, package):
            try:
                obj = getattr(module, name, None)
            except ImportError:  # experimental names need an explicit enable
                continue
            full = f"{module_name}.{name}"
            if obj is None or inspect.ismodule(obj):
                continue
            if inspect.isclass(obj):
                role = "exception" if issubclass(obj, BaseException) else "class"
                entries[full] = (role, full)
                if members:
                    for member, kind in _members(obj, package):
                        entries[f"{full}.{member}"] = (kind, full)
            elif inspect.isroutine(obj) or callable(obj):
                entries[full] = ("function", full)
            else:
                entries[full] = ("data", full)
    return entries


def walk(package, *, skip=("tests", "externals", "conftest")):
    """Every public module of an installed package (no ``_`` part, no tests)."""
    top = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(
        top.__path__, package + ".", onerror=lambda name: None
    ):
        parts = info.name.split(".")
        if any(p.startswith("_") or p in skip for p in parts):
            continue
        names.append(info.name)
    return sorted(names)


# --------------------------------------------------------------------------
# Per project: which modules, and the URL of each object.
# --------------------------------------------------------------------------


def _generated(prefix):
    def uri(name, role, owner):
        return f"{prefix}{owner}.html#$"

    return uri


#: scikit-learn glossary terms the docstrings (and numpydoc aliases) use.
_SKLEARN_TERMS = (
    "array-like",
    "estimator",
    "fit",
    "random_state",
    "n_jobs",
    "joblib",
    "transformer",
    "scorer",
    "tags",
)


def sklearn_entries():
    modules = [m for m in walk("sklearn") if "experimental" not in m]

    entries = introspect(modules, "sklearn")
    for term in _SKLEARN_TERMS:
        entries[term] = ("std:term", term)

    def uri(name, role, owner):
        if role == "std:term":
            return f"glossary.html#term-{name}"
        if role == "module":
            return f"api/{name}.html#module-$"
        return f"modules/generated/{owner}.html#$"

    return entries, uri


_NUMPY_SCALARS = {
    "bool",
    "bool_",
    "byte",
    "bytes_",
    "cdouble",
    "clongdouble",
    "complex64",
    "complex128",
    "csingle",
    "datetime64",
    "double",
    "float16",
    "float32",
    "float64",
    "floating",
    "generic",
    "half",
    "inexact",
    "int8",
    "int16",
    "int32",
    "int64",
    "intc",
    "integer",
    "intp",
    "longdouble",
    "longlong",
    "number",
    "object_",
    "short",
    "signedinteger",
    "single",
    "str_",
    "timedelta64",
    "ubyte",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "uintc",
    "uintp",
    "ulonglong",
    "unsignedinteger",
    "ushort",
    "void",
}


def numpy_entries():
    modules = [
        "numpy",
        "numpy.linalg",
        "numpy.random",
        "numpy.fft",
        "numpy.exceptions",
        "numpy.testing",
        "numpy.typing",
        "numpy.lib",
        "numpy.polynomial",
        "numpy.ma",
    ]
    entries = introspect(modules, "numpy")
    for name in _NUMPY_SCALARS:
        entries.setdefault(f"numpy.{name}", ("class", f"numpy.{name}"))
    # numpydoc's default aliases: array_like, "scalar" -> NumPy's scalar types.
    entries["array_like"] = ("std:term", "glossary.html#term-array_like")
    entries["arrays.scalars"] = (
        "std:label",
        "reference/arrays.scalars.html#arrays-scalars",
    )

    def uri(name, role, owner):
        short = name.split(".")[-1]
        if role.startswith("std:"):
            return owner
        if role == "module":
            sub = name.removeprefix("numpy").lstrip(".") or "routines"
            return f"reference/routines.{sub}.html#module-$".replace(
                "routines.routines", "routines"
            )
        if owner.count(".") == 1 and owner.split(".")[1] in _NUMPY_SCALARS:
            return "reference/arrays.scalars.html#$"
        if owner.startswith("numpy.random.Generator"):
            return "reference/random/generator.html#$"
        if owner.startswith("numpy.random.") and short != "random":
            return f"reference/random/generated/{owner}.html#$"
        return f"reference/generated/{name}.html#$"

    return entries, uri


def scipy_entries():
    modules = [
        "scipy.linalg",
        "scipy.sparse",
        "scipy.sparse.linalg",
        "scipy.special",
        "scipy.stats",
        "scipy.optimize",
        "scipy.spatial",
        "scipy.spatial.distance",
        "scipy.integrate",
        "scipy.interpolate",
        "scipy.cluster",
        "scipy.signal",
        "scipy.fft",
        "scipy.ndimage",
    ]

    def uri(name, role, owner):
        if role == "module":
            return f"reference/{name.removeprefix('scipy.')}.html#module-$"
        return f"reference/generated/{name if role == 'method' else owner}.html#$"

    return introspect(modules, "scipy"), uri


def torch_entries():
    modules = [
        "torch",
        "torch.nn",
        "torch.nn.functional",
        "torch.nn.init",
        "torch.optim",
        "torch.optim.lr_scheduler",
        "torch.linalg",
        "torch.utils.data",
        "torch.cuda",
        "torch.amp",
        "torch.autograd",
        "torch.func",
        "torch.fft",
        "torch.special",
        "torch.hub",
    ]
    # Members only for the classes users subclass or call methods on: every
    # nn layer repeating nn.Module's 40 methods would make the file 10x larger.
    entries = introspect(modules, "torch", members=False)
    import torch

    for path in (
        "torch.nn.Module",
        "torch.optim.Optimizer",
        "torch.utils.data.Dataset",
        "torch.utils.data.DataLoader",
    ):
        module, name = path.rsplit(".", 1)
        cls = getattr(importlib.import_module(module), name)
        for member, kind in _members(cls, "torch"):
            entries[f"{path}.{member}"] = (kind, path)

    for name in ("Tensor", "dtype", "device", "Generator", "Size"):
        entries[f"torch.{name}"] = ("class", f"torch.{name}")
    for name in dir(torch.Tensor):
        if not name.startswith("_") and callable(getattr(torch.Tensor, name, None)):
            entries[f"torch.Tensor.{name}"] = ("method", "torch.Tensor")

    def uri(name, role, owner):
        if role == "module":
            return f"{name}.html#module-$"
        if name == "torch.Tensor":
            return "tensors.html#$"
        if owner in (
            "torch.dtype",
            "torch.device",
            "torch.layout",
            "torch.memory_format",
        ):
            return "tensor_attributes.html#$"
        if owner.startswith("torch.utils.data."):
            return "data.html#$"
        if role == "method" and owner == "torch.Tensor":
            return f"generated/{name}.html#$"
        return f"generated/{owner}.html#$"

    return entries, uri


def timm_entries():
    pages = {
        "timm.data": "data",
        "timm.optim": "optimizers",
        "timm.scheduler": "schedulers",
    }
    entries = introspect(["timm", *pages], "timm", members=False)

    def uri(name, role, owner):
        for prefix, page in pages.items():
            if name == prefix or name.startswith(prefix + "."):
                return f"reference/{page}#$"
        return "reference/models#$"

    return entries, uri


_STDLIB = [
    "abc",
    "argparse",
    "collections",
    "collections.abc",
    "concurrent.futures",
    "contextlib",
    "copy",
    "dataclasses",
    "enum",
    "functools",
    "hashlib",
    "importlib",
    "importlib.metadata",
    "inspect",
    "io",
    "itertools",
    "json",
    "logging",
    "math",
    "numbers",
    "operator",
    "os",
    "os.path",
    "pathlib",
    "pickle",
    "random",
    "re",
    "shutil",
    "subprocess",
    "sys",
    "tempfile",
    "threading",
    "time",
    "typing",
    "warnings",
    "zipfile",
    "zlib",
]
_PYTHON_TERMS = (
    "sequence",
    "iterable",
    "mapping",
    "hashable",
    "generator",
)
_STDTYPES = {
    "dict",
    "list",
    "tuple",
    "str",
    "set",
    "frozenset",
    "bytes",
    "bytearray",
    "range",
    "memoryview",
}


def python_entries():
    import builtins

    entries = {}
    for name in dir(builtins):
        if name.startswith("_"):
            continue
        obj = getattr(builtins, name)
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            entries[name] = ("exception", name)
        elif inspect.isclass(obj):
            entries[name] = ("class", name)
        elif callable(obj):
            entries[name] = ("function", name)
        elif name in ("None", "True", "False", "Ellipsis", "NotImplemented"):
            entries[name] = ("data", name)
    for module_name in _STDLIB:
        module = importlib.import_module(module_name)
        entries[module_name] = ("module", module_name)
        for name in _public_names(module, module_name.split(".")[0]):
            obj = getattr(module, name, None)
            if obj is None or inspect.ismodule(obj):
                continue
            full = f"{module_name}.{name}"
            if inspect.isclass(obj):
                role = "exception" if issubclass(obj, BaseException) else "class"
                entries[full] = (role, module_name)
                for member, kind in _members(obj, module_name.split(".")[0]):
                    entries[f"{full}.{member}"] = (kind, module_name)
            elif callable(obj):
                entries[full] = ("function", module_name)
            else:
                entries[full] = ("data", module_name)

    entries["os.PathLike"] = ("class", "os")
    # What numpydoc's type aliases link to (bool, sequence, iterable...); a term
    # must not share a builtin's name (``callable``): the entries are one dict.
    entries["bltin-boolean-values"] = ("std:label", "library/stdtypes.html")
    for term in _PYTHON_TERMS:
        entries[term] = ("std:term", "glossary.html")

    def uri(name, role, owner):
        if role == "std:label":
            return f"{owner}#{name}"
        if role == "std:term":
            return f"{owner}#term-{name}"
        if "." not in name and role != "module":
            if role == "exception":
                return "library/exceptions.html#$"
            if role == "data":
                return "library/constants.html#$"
            if name in _STDTYPES:
                return "library/stdtypes.html#$"
            return "library/functions.html#$"
        return (
            f"library/{owner}.html#$"
            if role != "module"
            else (f"library/{name}.html#module-$")
        )

    return entries, uri


def pandas_entries():
    modules = ["pandas", "pandas.api.types", "pandas.errors"]
    entries = introspect(modules, "pandas")

    def uri(name, role, owner):
        if role == "module":
            return "reference/index.html#module-$"
        return f"reference/api/{name}.html#$"

    return entries, uri


def matplotlib_entries():
    entries = introspect(["matplotlib.pyplot"], "matplotlib", members=False)
    entries.update(introspect(["matplotlib.axes", "matplotlib.figure"], "matplotlib"))
    entries = {
        k: v
        for k, v in entries.items()
        if not k.startswith(("matplotlib.axes.", "matplotlib.figure."))
        or k.split(".")[2] in ("Axes", "Figure", "SubFigure")
    }

    def uri(name, role, owner):
        if role == "module":
            return f"api/{name.removeprefix('matplotlib.')}_api.html#module-$"
        return f"api/_as_gen/{name}.html#$"

    return entries, uri


def joblib_entries():
    def uri(name, role, owner):
        if role == "module":
            return "index.html#module-$"
        return f"generated/{owner}.html#$"

    return introspect(["joblib"], "joblib"), uri


BUILDERS = {
    "python": python_entries,
    "numpy": numpy_entries,
    "scipy": scipy_entries,
    "sklearn": sklearn_entries,
    "torch": torch_entries,
    "timm": timm_entries,
    "pandas": pandas_entries,
    "matplotlib": matplotlib_entries,
    "joblib": joblib_entries,
}

# --------------------------------------------------------------------------
# The inventory format (Sphinx v2) and the mapping conf.py uses.
# --------------------------------------------------------------------------


def inventory_bytes(project, version, entries, uri):
    """A Sphinx v2 ``objects.inv``: a text header, then zlib-compressed lines.

    Parameters
    ----------
    project, version : str
        The header's project name and version.
    entries : dict
        Dotted name -> ``(role, owner)``, as :func:`introspect` returns.
    uri : callable
        ``uri(name, role, owner)``: the object's URL relative to the
        project's base URL; a trailing ``$`` stands for the name.

    Returns
    -------
    data : bytes
        The file's content.
    """
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    ).encode()
    lines = []
    for name in sorted(entries):
        role, owner = entries[name]
        if any(c.isspace() for c in name):
            continue
        domain_role = role if ":" in role else f"py:{role}"
        priority = -1 if role.startswith("std:") else 1
        lines.append(f"{name} {domain_role} {priority} {uri(name, role, owner)} -\n")
    return header + zlib.compress("".join(lines).encode(), 9)


def write_inventory(key, directory):
    """Introspect one project and write ``<directory>/<key>.inv``.

    Parameters
    ----------
    key : str
        A key of :data:`PROJECTS`.
    directory : pathlib.Path
        Where the file goes.

    Returns
    -------
    n_entries : int
        How many objects the inventory lists.
    """
    entries, uri = BUILDERS[key]()
    project, _ = PROJECTS[key]
    module = "sys" if key == "python" else key
    version = (
        ".".join(map(str, sys.version_info[:2]))
        if key == "python"
        else importlib.import_module(module).__version__
    )
    path = Path(directory) / f"{key}.inv"
    path.write_bytes(inventory_bytes(project, version, entries, uri))
    return len(entries)


def download_inventory(key, directory):
    """Replace ``<key>.inv`` by the project's real ``objects.inv`` (online)."""
    from urllib.request import urlopen

    url = PROJECTS[key][1] + "objects.inv"
    with urlopen(url, timeout=30) as response:
        data = response.read()
    if not data.startswith(b"# Sphinx inventory version"):
        raise ValueError(f"{url} did not return a Sphinx inventory.")
    (Path(directory) / f"{key}.inv").write_bytes(data)
    return len(data)


def intersphinx_mapping(directory):
    """``intersphinx_mapping`` for ``docs/conf.py``: the shipped file first.

    Parameters
    ----------
    directory : pathlib.Path
        The folder holding the ``<key>.inv`` files.

    Returns
    -------
    mapping : dict
        Project key -> ``(base URL, (local inventory path, None))``.
    """
    return {
        key: (url, (str(Path(directory) / f"{key}.inv"), None))
        for key, (_, url) in PROJECTS.items()
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "projects",
        nargs="*",
        choices=[[], *PROJECTS],
        help="projects to write (default: all)",
    )
    parser.add_argument(
        "--from-web", action="store_true", help="download the real objects.inv instead"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path(__file__).resolve().parents[1] / "_inventories",
    )
    args = parser.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    for key in args.projects or PROJECTS:
        if args.from_web:
            n = download_inventory(key, args.output)
            print(f"{key:10s} {n:8d} bytes downloaded")
        else:
            n = write_inventory(key, args.output)
            size = (args.output / f"{key}.inv").stat().st_size
            print(f"{key:10s} {n:6d} objects  {size / 1024:6.1f} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
