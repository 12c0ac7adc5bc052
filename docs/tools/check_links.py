"""Check the internal links of a built HTML site, offline.

Every ``href`` (and ``src``) in every page (``.html`` file) under the build
folder that points inside the site must name an existing file and, with a
``#fragment``, an element of that file with that ``id`` (or an ``<a name>``).
The theme's Jinja macros under ``_static/`` are assets, not pages. Links with a
scheme (``https:``, ``mailto:``...) or to another host are external and are NOT
checked: the build runs offline.

Usage::

    python3 docs/tools/check_links.py docs/_build/html

prints one line per broken link and exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class _Page(HTMLParser):
    """Collect a page's link targets and its element ids."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links = []
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id",) + (("name",) if tag == "a" else ()):
            if attrs.get(key):
                self.ids.add(attrs[key])
        for key in ("href", "src"):
            value = attrs.get(key)
            if value is not None and not (
                tag == "link" and key == "href" and attrs.get("rel") == "canonical"
            ):
                self.links.append((self.getpos()[0], value))


def _parse(path, cache):
    if path not in cache:
        page = _Page()
        page.feed(path.read_text(encoding="utf-8", errors="replace"))
        cache[path] = page
    return cache[path]


def is_external(url):
    """Whether a link leaves the site (has a scheme or a host)."""
    parts = urlsplit(url)
    return bool(parts.scheme or parts.netloc)


def check_site(root):
    """Find the internal links of a built site that do not resolve.

    Parameters
    ----------
    root : str or pathlib.Path
        The build folder (``docs/_build/html``).

    Returns
    -------
    problems : list of str
        One ``"page:line: link -> reason"`` per broken link, sorted; empty
        when every internal link resolves.
    n_checked : int
        How many internal links were checked.
    """
    root = Path(root).resolve()
    if not root.is_dir():
        raise ValueError(f"{root} is not a folder: build the site first.")
    cache, problems, n_checked = {}, [], 0
    for page_path in sorted(root.rglob("*.html")):
        if "_static" in page_path.relative_to(root).parts:
            continue  # theme assets (Jinja macros), not pages
        page = _parse(page_path, cache)
        for line, url in page.links:
            if not url or is_external(url) or url.startswith("javascript:"):
                continue
            n_checked += 1
            parts = urlsplit(url)
            where = f"{page_path.relative_to(root)}:{line}: {url}"
            target = page_path
            if parts.path:
                target = (page_path.parent / unquote(parts.path)).resolve()
                if target.is_dir():
                    target = target / "index.html"
            if root not in target.parents and target != root:
                problems.append(f"{where} -> outside the site")
                continue
            if not target.is_file():
                problems.append(f"{where} -> no such file")
                continue
            fragment = unquote(parts.fragment)
            if fragment and target.suffix == ".html":
                if fragment not in _parse(target, cache).ids:
                    problems.append(f"{where} -> no id {fragment!r} in {target.name}")
    return sorted(problems), n_checked


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help="the built site (docs/_build/html)")
    args = parser.parse_args(argv)
    problems, n_checked = check_site(args.root)
    for problem in problems:
        print(problem)
    print(
        f"{n_checked} internal links checked, {len(problems)} broken", file=sys.stderr
    )
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
