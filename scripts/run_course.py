"""Run the course notebooks in order, export each to HTML and write an index page with the course outline.

    python scripts/run_course.py                 # all notebooks, full mode (what `make run` does)
    python scripts/run_course.py --fast          # COURSE_FAST=1: small data, few epochs
    python scripts/run_course.py --only 03       # the notebooks whose name contains "03" (glob patterns work)
    python scripts/run_course.py --jobs 1        # one notebook at a time (default: the cores, up to 4; fast: +1)

Each notebook runs in a fresh kernel of the current environment, with its own folder as working directory and
``COURSE_STATIC=1`` (widgets draw static figures). For each notebook the build folder gets the executed
``NN_name.ipynb`` and ``NN_name.html``; ``index.html`` links them all, and ``timings.json`` keeps the run times:

    {"machine": {...}, "notebooks": {"01_latent_space": {"title", "summary", "status", "seconds", "mode",
     "finished", "slowest_cells": [{"index", "seconds", "first_line"}]}, ...}}

(entries of earlier runs are kept, so ``--only`` updates one notebook's line). Notebooks run ``--jobs`` at a time,
each kernel on one thread (``OMP_NUM_THREADS=1`` unless it is set): on a CPU, small models gain little from a second
thread, and two notebooks side by side use both cores fully; a notebook that needs a model another one is training
waits for it and loads it from the checkpoint cache (``helpers.train.fit_cached``). A failing notebook stops the run
(no new one starts): the exit code is 1 and the message names the notebook, the cell and the error. A cell still running after
``--stall`` seconds (``COURSE_STALL_S``, default 600) is named on stderr with every thread of its kernel's stack.
The kernels get ``OMP_WAIT_POLICY=PASSIVE`` unless it is set: spinning OpenMP threads on busy cores made training
many times slower (README, troubleshooting).

The pages load nothing from the internet: MathJax is copied into ``build/mathjax/``, progress bars are written as
the text of their last state, no require.js or widget renderer is linked, and the Colab badge is drawn from a
local image (``scripts/templates/``).
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import html
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from fnmatch import fnmatch
from importlib import metadata
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter
from nbconvert.exporters import TemplateExporter
from nbconvert.filters.markdown import markdown2html
from tqdm.std import Bar

from helpers.config import STALL_ENV, STALL_LOG_ENV, StallReport

REPO_DIR = Path(__file__).resolve().parents[1]
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
COURSE_TITLE = "Autoencoders and Variational Autoencoders"
GOALS_LINE = re.compile(r"learning goals|you will|goals", re.IGNORECASE)
LIST_ITEM = re.compile(r"\s*([-*+]|\d+\.)\s")
TEMPLATES = Path(__file__).resolve().parent / "templates"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
WIDGET_VIEW, WIDGET_STATE = "application/vnd.jupyter.widget-view+json", "application/vnd.jupyter.widget-state+json"
NO_FONT = {"src": "local('MathJax TeX')"}
"""An @font-face source that loads nothing, for the fonts MathJax names that jupyter-server-mathjax does not ship."""
MATHJAX_CONFIG = {
    # jupyter-server-mathjax ships MathJax's STIX-Web fonts only. Without webFont "STIX-Web" the equations ask for
    # the TeX fonts, which are not there, and accents drift off their letters (ŷ reads as y). Two kinds of
    # @font-face still point at missing files, each a failed request: the font MathJax probes against (a blank
    # one) and the TeX fonts for the hidden MathML copy of each equation that screen readers read.
    "HTML-CSS": {"availableFonts": [], "preferredFont": None, "webFont": "STIX-Web", "imageFont": None,
                 "styles": {"@font-face": NO_FONT}},
    "NativeMML": {"styles": {f"@font-face /*{n}*/": NO_FONT for n in range(1, 7)}},
    "tex2jax": {"inlineMath": [["$", "$"], ["\\(", "\\)"]], "processEscapes": True},
}


@dataclass
class Result:
    """The outcome of running one notebook."""

    name: str
    title: str
    summary: str
    status: str
    seconds: float
    mode: str
    finished: str
    slowest_cells: list[dict] = field(default_factory=list)
    error: str = ""


class NotebookFailed(Exception):
    """A notebook stopped at a cell; the message says which and why."""

    def __init__(self, message: str, result: Result) -> None:
        super().__init__(message)
        self.result = result


def outline(nb: nbformat.NotebookNode, default_title: str) -> tuple[str, str]:
    """The title and the learning goals (or else the first paragraph) of a notebook, as Markdown."""
    texts = [cell.source for cell in nb.cells if cell.cell_type == "markdown"][:2]
    lines = [line for line in "\n".join(texts).split("\n") if "colab-badge.svg" not in line]
    title_index = next((i for i, line in enumerate(lines) if line.startswith("#")), None)
    title = default_title if title_index is None else lines[title_index].lstrip("#").strip()
    body = lines if title_index is None else lines[title_index + 1 :]
    goals = next((i for i, line in enumerate(body) if GOALS_LINE.search(line)), None)
    if goals is not None:
        return title, _paragraph_with_list(body[goals:])
    paragraphs = [p.strip() for p in "\n".join(body).split("\n\n") if p.strip() and not p.lstrip().startswith("#")]
    return title, paragraphs[0] if paragraphs else ""


def _paragraph_with_list(lines: list[str]) -> str:
    """The first paragraph of ``lines`` and the list that follows it, up to the next paragraph or heading."""
    for i, line in enumerate(lines[1:], 1):
        after = lines[i + 1] if i + 1 < len(lines) else ""
        if line.startswith("#") or (not line.strip() and after.strip() and not LIST_ITEM.match(after)):
            return "\n".join(lines[:i]).strip()
    return "\n".join(lines).strip()


def _first_line(source: str) -> str:
    return next((line for line in source.split("\n") if line.strip()), "")


def describe_failure(cell: nbformat.NotebookNode, index: int, error: Exception) -> str:
    """A few lines naming the failing cell (its number, first lines of source) and the error."""
    if isinstance(error, CellExecutionError):
        reason = f"{error.ename}: {error.evalue}"
    else:
        reason = f"{type(error).__name__}: {_first_line(str(error))}"
    count = cell.get("execution_count")
    label = f"cell {index}" + (f" (In [{count}])" if count else "")
    source = "\n".join(f"    | {line}" for line in cell.source.split("\n")[:4])
    return f"{label} failed with {reason}\n{source}"


def run_notebook(path: Path, build: Path, timeout: int, mode: str, stalls: StallReport | None = None,
                 env: dict[str, str] | None = None) -> Result:
    """Execute ``path`` in a fresh kernel; write the executed notebook and its HTML to ``build``.

    Raises ``NotebookFailed`` (after writing what ran) when a cell fails or times out. ``stalls`` names a cell
    that runs past its limit; ``env`` is the kernel's environment (default: this process's).
    """
    nb = nbformat.read(path, as_version=4)
    title, summary = outline(nb, path.stem)
    current = {"index": -1, "start": 0.0}
    cell_seconds: dict[int, float] = {}

    def cell_started(cell: nbformat.NotebookNode, cell_index: int) -> None:
        current.update(index=cell_index, start=time.perf_counter())
        if stalls:
            stalls.start(f"{path.name}, cell {cell_index} ({_first_line(cell.source)[:60]})")

    def cell_finished(cell: nbformat.NotebookNode, cell_index: int, execute_reply: dict) -> None:
        cell_seconds[cell_index] = time.perf_counter() - current["start"]
        if stalls:
            stalls.stop()

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no start-up warnings in the run's output
        resources={"metadata": {"path": str(path.parent)}},
        on_cell_execute=cell_started,
        on_cell_executed=cell_finished,
    )
    start = time.perf_counter()
    failure = ""
    try:
        client.execute(**({"env": env} if env is not None else {}))
    except Exception as error:  # noqa: BLE001 - any failure (error, timeout, dead kernel) stops the run
        if stalls:
            stalls.stop()
        index = current["index"]
        failure = describe_failure(nb.cells[index], index, error) if index >= 0 else f"{type(error).__name__}: {error}"
    seconds = time.perf_counter() - start

    slowest = sorted(cell_seconds.items(), key=lambda item: -item[1])[:3]
    result = Result(
        name=path.stem,
        title=title,
        summary=summary,
        status="failed" if failure else "ok",
        seconds=round(seconds, 2),
        mode=mode,
        finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        slowest_cells=[
            {"index": i, "seconds": round(s, 2), "first_line": _first_line(nb.cells[i].source)} for i, s in slowest
        ],
        error=failure,
    )
    build.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, build / f"{path.stem}.ipynb")
    page = render(HTMLExporter, nb, title, template_name="course_page", mathjax_url=mathjax_url(build))
    (build / f"{path.stem}.html").write_text(page, encoding="utf-8")
    if failure:
        raise NotebookFailed(f"{path.name}: {failure}", result)
    return result


def mathjax_url(build: Path) -> str:
    """MathJax for the pages: a copy in build/mathjax/ from jupyter-server-mathjax, so that the equations render
    offline too; the CDN when that package is missing."""
    try:
        import jupyter_server_mathjax
    except ImportError:
        return HTMLExporter().mathjax_url
    target = build / "mathjax"
    if not (target / "MathJax.js").exists():
        shutil.copytree(Path(jupyter_server_mathjax.__file__).parent / "static", target, dirs_exist_ok=True)
    return "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"


def render(exporter_class: type[TemplateExporter], nb: nbformat.NotebookNode, title: str, **traits: Any) -> str:
    """The HTML of ``nb``, offline, by an exporter with a template from scripts/templates/ and these ``traits``
    (``template_name``, ``mathjax_url``, ...): a page (``HTMLExporter``) or a deck (``SlidesExporter``)."""
    # The templates are folders of scripts/templates/, and what they share lies in that folder itself.
    exporter = exporter_class(extra_template_basedirs=[str(TEMPLATES)], extra_template_paths=[str(TEMPLATES)], **traits)
    body, _ = exporter.from_notebook_node(
        offline_notebook(nb), resources={"metadata": {"name": title}, "mathjax_config": json.dumps(MATHJAX_CONFIG)}
    )
    badge = base64.b64encode((TEMPLATES / "colab-badge.svg").read_bytes()).decode("ascii")
    return body.replace(COLAB_BADGE, f"data:image/svg+xml;base64,{badge}")


def offline_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose widget outputs are plain text: a progress bar as tqdm prints it in its last state
    (from the widget state the run stored), any other widget as its own text; the widget state is dropped."""
    nb = nbformat.from_dict(nb)
    models = nb.metadata.pop("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).pop(WIDGET_VIEW, None)
            if view is not None:
                text = widget_text(view.get("model_id", ""), models)
                output.data["text/plain"] = text if text is not None else output.data.get("text/plain", "")
    return nb


def widget_text(model_id: str, models: dict) -> str | None:
    """The text of a stored widget: a box joins its children with "|" (tqdm's layout), a progress bar is drawn
    with tqdm's bar, a label or HTML widget gives its value; None for a widget without stored state."""
    model = models.get(model_id)
    if model is None:
        return None
    state = model.get("state", {})
    if "children" in state:
        parts = (widget_text(child.removeprefix("IPY_MODEL_"), models) for child in state["children"])
        return "|".join(part for part in parts if part)
    if model.get("model_name") in {"FloatProgressModel", "IntProgressModel"}:
        low, high = state.get("min", 0), state.get("max", 100)
        return format(Bar((state.get("value", low) - low) / (high - low) if high > low else 1.0, 10), "")
    value = html.unescape(re.sub(r"<[^>]+>", "", str(state.get("value", "")))).replace("\u2007", " ")
    return value if value.strip() else None


def machine() -> dict:
    """Where the timings were measured."""
    try:
        torch_version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch_version = "not installed"
    return {
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch_version,
    }


def load_timings(path: Path) -> dict:
    """The timings of earlier runs, or an empty record."""
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    return {"machine": {}, "notebooks": {}}


def not_run_entry(path: Path) -> dict:
    """The index entry of a notebook that has not been run yet: its outline only."""
    title, summary = outline(nbformat.read(path, as_version=4), path.stem)
    return {
        "name": path.stem,
        "title": title,
        "summary": summary,
        "status": "not run",
        "seconds": None,
        "mode": "",
        "slowest_cells": [],
        "error": "",
    }


def index_html(entries: list[dict], info: dict, mathjax: str) -> str:
    """The course outline: each notebook's title, goals, status, run time and a link to its HTML."""
    rows = []
    for entry in entries:
        status, name = html.escape(entry["status"]), html.escape(entry["name"])
        error = f"<pre class='error'>{html.escape(entry['error'])}</pre>" if entry["error"] else ""
        link = name if entry["seconds"] is None else f"<a href='{name}.html'>{name}</a>"
        time_text = ""
        if entry["seconds"] is not None:
            time_text = f"{entry['seconds']:.1f} s<br><small>{html.escape(entry['mode'])} mode</small>"
        if entry["slowest_cells"]:
            time_text += f"<br><small>slowest cell: {entry['slowest_cells'][0]['seconds']:.1f} s</small>"
        rows.append(
            f"<tr class='{status.replace(' ', '-')}'><td>{link}</td><td><h2>{html.escape(entry['title'])}</h2>"
            f"{markdown2html(entry['summary'])}{error}</td>"
            f"<td class='status'>{status}</td><td class='time'>{time_text}</td></tr>"
        )
    total = sum(entry["seconds"] or 0.0 for entry in entries)
    machine_line = ", ".join(f"{key} {value}" for key, value in info.items())
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{COURSE_TITLE}</title>
<script>window.MathJax = {json.dumps(MATHJAX_CONFIG)};</script>
<script src="{mathjax}"></script>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }}
td {{ border-top: 1px solid #ddd; padding: 0.6rem; vertical-align: top; }}
td h2 {{ font-size: 1.1rem; margin: 0 0 0.3rem; }}
td p, td ul {{ margin: 0.3rem 0; }}
.time, .status {{ white-space: nowrap; text-align: right; }}
.failed .status, .error {{ color: #b00; }}
.ok .status {{ color: #070; }}
.not-run {{ color: #888; }}
footer {{ color: #666; font-size: 0.85rem; margin-top: 2rem; }}
</style>
</head>
<body>
<h1>{COURSE_TITLE}</h1>
<p>The course notebooks, run top to bottom. Click a name to read the notebook with its outputs.</p>
<table>
<thead><tr><th>notebook</th><th>what you learn</th><th>status</th><th>run time</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
<footer>Total run time {total:.1f} s. Measured on: {html.escape(machine_line)}.</footer>
</body>
</html>
"""


def print_summary(results: list[Result], wall: float, jobs: int) -> None:
    """A table of this run: status, seconds and slowest cell per notebook, then the run's wall-clock time."""
    print(f"\n{'notebook':<32} {'status':<7} {'seconds':>8}  slowest cell")
    for result in results:
        slow = result.slowest_cells[0] if result.slowest_cells else None
        slow_text = f"{slow['seconds']:6.1f} s  [{slow['index']}] {slow['first_line'][:40]}" if slow else ""
        print(f"{result.name:<32} {result.status:<7} {result.seconds:8.1f}  {slow_text}")
    print(f"{'total':<32} {'':<7} {sum(r.seconds for r in results):8.1f}  (the notebooks' own times)")
    print(f"{'wall clock':<32} {'':<7} {wall:8.1f}  ({jobs} at a time)")


def course_mode(fast: bool) -> str:
    """Set ``COURSE_STATIC=1``, and ``COURSE_FAST=1`` when ``fast``, for the kernels to come; return the mode."""
    os.environ["COURSE_STATIC"] = "1"
    if fast:
        os.environ["COURSE_FAST"] = "1"
    return "fast" if os.environ.get("COURSE_FAST", "").lower() in {"1", "true", "yes"} else "full"


def select(folder: Path, only: str | None) -> tuple[list[Path], list[Path]]:
    """The notebooks in ``folder`` and those of them whose name matches ``*only*`` (all without ``only``); says so
    on stderr when none matches."""
    existing = sorted(folder.glob(NOTEBOOK_GLOB))
    selected = [p for p in existing if not only or fnmatch(p.stem, f"*{only}*")]
    if not selected:
        print(f"no notebooks matching {NOTEBOOK_GLOB!r} and --only {only!r} in {folder}", file=sys.stderr)
    return existing, selected


def main(argv: list[str] | None = None) -> int:
    """Run the selected notebooks and write the build folder; return the exit code.

    The settings for the kernels (mode, static widgets, stall watch) go into this process's environment, which the
    kernels inherit; it is restored afterwards, so that a caller in the same process (a test) keeps its own."""
    saved = dict(os.environ)
    try:
        return _run(argv)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def default_jobs(fast: bool) -> int:
    """As many notebooks at a time as cores, up to 4. In fast mode one more: there its kernels spend much of their
    time starting, importing and writing pages rather than training (benchmarks/README.md)."""
    return min(4, os.cpu_count() or 1) + (1 if fast else 0)


def _run(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fast", action="store_true", help="set COURSE_FAST=1 (small data, few epochs)")
    parser.add_argument("--only", metavar="PATTERN", help="run the notebooks whose name matches *PATTERN*")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds a single cell may take (default 1800)")
    parser.add_argument("--stall", type=float, default=float(os.environ.get(STALL_ENV, 600)),
                        help=f"seconds after which a running cell is named with its kernel's stacks ({STALL_ENV}, 600)")
    parser.add_argument("--jobs", type=int,
                        help="notebooks that run at the same time (default: the cores, up to 4; in fast mode one more)")
    parser.add_argument("--notebooks", type=Path, default=REPO_DIR / "notebooks", help="folder of the notebooks")
    parser.add_argument("--build", type=Path, default=REPO_DIR / "build", help="output folder")
    args = parser.parse_args(argv)

    mode = course_mode(args.fast)
    existing, selected = select(args.notebooks, args.only)
    if not selected:
        return 2

    timings_path = args.build / "timings.json"
    timings = load_timings(timings_path)
    names = {p.stem for p in existing}
    timings["notebooks"] = {name: entry for name, entry in timings["notebooks"].items() if name in names}
    timings["machine"] = machine()
    print(f"running {len(selected)} notebook(s) in {mode} mode, output in {args.build}")

    results: list[Result] = []
    failure, failed = "", None
    stall_logs = Path(tempfile.mkdtemp(prefix="course-stalls-"))
    os.environ[STALL_ENV] = f"{args.stall:g}"  # the kernels inherit both; helpers.setup() arms the watch
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # torch's threads sleep, not spin, on busy cores (README)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    start = time.perf_counter()
    jobs = max(1, min(default_jobs(args.fast) if args.jobs is None else args.jobs, len(selected)))
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:  # each thread waits on its own kernel
        pending = list(selected)
        running: dict[concurrent.futures.Future, Path] = {}
        while pending or running:
            while pending and len(running) < jobs and not failure:
                path = pending.pop(0)
                running[pool.submit(run_one, path, args.build, args.timeout, mode, args.stall, stall_logs)] = path
            if not running:
                break
            done, _ = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in done:
                running.pop(future)
                result, error = future.result()
                results.append(result)
                timings["notebooks"][result.name] = asdict(result)
                print(f"{result.name:<32} {result.status:<7} {result.seconds:6.1f} s", flush=True)
                if error and not failure:
                    failure, failed = error, result
    wall = time.perf_counter() - start
    shutil.rmtree(stall_logs, ignore_errors=True)
    results.sort(key=lambda r: r.name)

    timings["notebooks"] = dict(sorted(timings["notebooks"].items()))
    timings_path.write_text(json.dumps(timings, indent=1) + "\n", encoding="utf-8")
    entries = [timings["notebooks"].get(path.stem) or not_run_entry(path) for path in existing]
    (args.build / "index.html").write_text(index_html(entries, timings["machine"], mathjax_url(args.build)), encoding="utf-8")
    print_summary(results, wall, jobs)
    print(f"\nopen {args.build / 'index.html'}")
    if failure:
        print(
            f"\nFAILED {failure}\nthe outputs up to the failure are in {args.build / (failed.name + '.html')}",
            file=sys.stderr,
        )
        return 1
    return 0


def run_one(path: Path, build: Path, timeout: int, mode: str, stall: float, stall_logs: Path) -> tuple[Result, str]:
    """Run one notebook: ``(result, failure)``, the failure empty when it ran through. Its kernel writes the stacks
    of a stalled cell to a log of its own."""
    stall_log = stall_logs / f"{path.stem}.log"
    env = dict(os.environ, **{STALL_LOG_ENV: str(stall_log)})
    try:
        return run_notebook(path, build, timeout, mode, StallReport(stall, stall_log), env), ""
    except NotebookFailed as error:
        return error.result, str(error)


if __name__ == "__main__":
    sys.exit(main())
