"""Convert the notebook sources in ``notebooks/src/`` to the notebooks in ``notebooks/``,
without outputs.

    python scripts/make_notebooks.py          # (re)write every notebook
    python scripts/make_notebooks.py --check  # exit 1 if a notebook differs from its source

A source is a percent-format Python file that ruff lints like the package: a cell starts at a
``# %%`` line, ``# %% [markdown]`` cells hold their markdown in comment lines, and
``# %% tags=["parameters"]`` tags the cell that holds every setting a user (or
``tests/test_notebooks.py``) changes. Every notebook gets the same frame: a line of links to
Colab and GitHub under the title of its first cell, then the cells of ``notebooks/src/_setup.py``
(the Colab setup, which clones its ``REPOSITORY``). Edit the sources, never the ``.ipynb``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
SOURCES = NOTEBOOKS / "src"
SETUP = SOURCES / "_setup.py"  # inserted after every notebook's header
BRANCH = "main"
CELL = re.compile(r"^# %%(?P<markdown> \[markdown\])?(?: tags=(?P<tags>\[.*\]))?\s*$")
REPOSITORY = re.compile(r'^REPOSITORY = "(?P<name>[^"]+)"', re.MULTILINE)


def read_cells(path: Path) -> list[nbformat.NotebookNode]:
    """The cells of a percent-format source, in order.

    Raises:
        ValueError: text before the first cell, or a markdown line that is no comment.
    """
    cells: list[nbformat.NotebookNode] = []
    kind, tags, lines = None, [], []

    def close():
        if kind is None:
            return
        text = "\n".join(lines).strip("\n")
        if kind == "markdown":
            cells.append(nbformat.v4.new_markdown_cell(text))
        else:
            cell = nbformat.v4.new_code_cell(text)
            if tags:
                cell.metadata["tags"] = tags
            cells.append(cell)

    for number, line in enumerate(path.read_text().splitlines(), 1):
        if match := CELL.match(line):
            close()
            kind = "markdown" if match["markdown"] else "code"
            tags, lines = json.loads(match["tags"] or "[]"), []
        elif kind is None and line.strip():
            raise ValueError(f"{path}:{number}: text before the first '# %%' cell")
        elif kind == "markdown" and line.strip():
            if not (line == "#" or line.startswith("# ")):
                raise ValueError(f"{path}:{number}: markdown cells hold '# ' comment lines only")
            lines.append(line[2:])
        else:
            lines.append(line)
    close()
    return cells


def with_links(header: nbformat.NotebookNode, filename: str, repository: str):
    """The header cell with links to the notebook on Colab and GitHub under its title."""
    path = f"{repository}/blob/{BRANCH}/notebooks/{filename}"
    title, _, rest = header.source.partition("\n")
    links = (
        f"[Open in Colab](https://colab.research.google.com/github/{path}) • "
        f"[View on GitHub](https://github.com/{path})"
    )
    header.source = f"{title}\n\n{links}\n{rest}"
    return header


def build_notebook(source: Path) -> nbformat.NotebookNode:
    """The notebook of ``source``: its header, the setup cells, then its other cells."""
    filename = f"{source.stem}.ipynb"
    repository = REPOSITORY.search(SETUP.read_text())["name"]
    header, *cells = read_cells(source)
    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "colab": {"provenance": [], "toc_visible": True},
    }
    if "GPU" in header.source:  # the header's **Accelerator:** line asks for one
        notebook.metadata["accelerator"] = "GPU"
    notebook.cells = [with_links(header, filename, repository), *read_cells(SETUP), *cells]
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell-{index:02d}"  # stable ids: reruns write identical files
    nbformat.validate(notebook)
    return notebook


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="only compare with the files in notebooks/ (exit 1 on a difference)",
    )
    args = parser.parse_args(argv)
    stale = []
    for source in sorted(SOURCES.glob("[!_]*.py")):
        text = nbformat.writes(build_notebook(source)) + "\n"
        path = NOTEBOOKS / f"{source.stem}.ipynb"
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(REPO)}")
    if stale:
        print(f"out of date (run scripts/make_notebooks.py): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
