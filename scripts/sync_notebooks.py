"""Write the "Open in Colab" badge and the Colab setup cell of every notebook from the URL in pyproject.toml.

    python scripts/sync_notebooks.py          # update the notebooks that are out of date
    python scripts/sync_notebooks.py --check  # list them and exit 1, writing nothing

The badge goes into the first (markdown) cell, right after the title line; the setup cell is the second cell,
a code cell tagged ``colab-setup``. Everything else in a notebook is left as it is.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPO_DIR = Path(__file__).resolve().parents[1]
SETUP_TAG = "colab-setup"
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"


def repository_url(pyproject: Path = REPO_DIR / "pyproject.toml") -> str:
    """The GitHub URL in ``[project.urls] Repository``, without a trailing slash or ``.git``."""
    url = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["urls"]["Repository"]
    url = url.rstrip("/").removesuffix(".git")
    if not url.startswith("https://github.com/") or url.count("/") != 4:
        raise ValueError(f"Repository must look like https://github.com/OWNER/REPO, got {url!r}")
    return url


def badge_line(url: str, relative_path: str) -> str:
    """The Markdown "Open In Colab" badge for the notebook at ``relative_path`` (from the repository root)."""
    owner_repo = url.removeprefix("https://github.com/")
    target = f"https://colab.research.google.com/github/{owner_repo}/blob/main/{relative_path}"
    return f"[![Open In Colab]({BADGE_IMAGE})]({target})"


def setup_source(url: str) -> str:
    """The source of the Colab setup cell: clone the course, install its helper package, make it importable."""
    folder = url.rsplit("/", 1)[-1]
    return f'''# Colab only: fetch the course and install its helper package. Does nothing elsewhere.
import sys

if "google.colab" in sys.modules:
    import subprocess
    from pathlib import Path

    repo_url = "{url}"
    course = Path("/content/{folder}")
    if not course.exists():
        subprocess.run(["git", "clone", "--depth", "1", repo_url, str(course)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", str(course)], check=True)
    sys.path.insert(0, str(course))'''


def with_badge(markdown: str, badge: str) -> str:
    """``markdown`` with its badge line replaced by ``badge``, or ``badge`` inserted after the title line."""
    lines = markdown.split("\n")
    for i, line in enumerate(lines):
        if BADGE_IMAGE in line:
            lines[i] = badge
            return "\n".join(lines)
    title = next((i for i, line in enumerate(lines) if line.startswith("# ")), -1)
    rest = lines[title + 1 :]
    if rest and rest[0].strip():
        rest = ["", *rest]
    head = [*lines[: title + 1], ""] if title >= 0 else []
    return "\n".join([*head, badge, *rest])


def _setup_cell_index(nb: nbformat.NotebookNode) -> int | None:
    return next(
        (i for i, cell in enumerate(nb.cells) if SETUP_TAG in cell.get("metadata", {}).get("tags", [])),
        None,
    )


def sync(nb: nbformat.NotebookNode, url: str, relative_path: str) -> list[str]:
    """Bring the badge and setup cell of ``nb`` up to date in place; return what changed (empty: nothing)."""
    if not nb.cells or nb.cells[0].cell_type != "markdown":
        raise ValueError("the first cell must be the markdown cell with the title")
    changes = []
    first = nb.cells[0]
    badged = with_badge(first.source, badge_line(url, relative_path))
    if badged != first.source:
        first.source = badged
        changes.append("badge")

    index = _setup_cell_index(nb)
    source = setup_source(url)
    if index is None:
        cell = nbformat.v4.new_code_cell(source, metadata={"tags": [SETUP_TAG]})
        if nb.nbformat_minor < 5:  # cell ids came with nbformat 4.5
            del cell["id"]
        elif SETUP_TAG not in {other.get("id") for other in nb.cells}:
            cell.id = SETUP_TAG
        nb.cells.insert(1, cell)
        changes.append("setup cell added")
        return changes
    cell = nb.cells[index]
    if cell.cell_type != "code":
        raise ValueError(f"the cell tagged {SETUP_TAG} must be a code cell")
    if index != 1:
        nb.cells.insert(1, nb.cells.pop(index))
        changes.append("setup cell moved to second place")
    if cell.source != source:
        cell.source = source
        changes.append("setup cell rewritten")
    return changes


def notebook_paths(notebooks_dir: Path) -> list[Path]:
    """The course notebooks and the exercise notebooks, sorted."""
    return sorted(notebooks_dir.glob("*.ipynb")) + sorted(notebooks_dir.glob("exercises/*.ipynb"))


def main(argv: list[str] | None = None) -> int:
    """Sync (or with ``--check`` only inspect) every notebook; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a notebook is out of date")
    parser.add_argument("--notebooks", type=Path, default=REPO_DIR / "notebooks", help="notebook folder")
    parser.add_argument("--pyproject", type=Path, default=REPO_DIR / "pyproject.toml", help="where the URL is")
    args = parser.parse_args(argv)

    url = repository_url(args.pyproject)
    root = args.notebooks.resolve().parent
    outdated, broken = [], []
    for path in notebook_paths(args.notebooks):
        nb = nbformat.read(path, as_version=4)
        try:
            changes = sync(nb, url, path.resolve().relative_to(root).as_posix())
        except ValueError as error:
            broken.append(f"{path}: {error}")
            continue
        if not changes:
            continue
        outdated.append(f"{path}: {', '.join(changes)}")
        if not args.check:
            nbformat.write(nb, path)

    for line in broken:
        print(f"error: {line}", file=sys.stderr)
    if args.check and outdated:
        print("out of date (run `make sync`):", *outdated, sep="\n  ")
    elif outdated:
        print("updated:", *outdated, sep="\n  ")
    return 1 if broken or (args.check and outdated) else 0


if __name__ == "__main__":
    sys.exit(main())
