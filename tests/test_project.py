"""Project checks: the dependency lists agree, notebooks are stripped, synced, numbered and listed in the README,
and the two maintenance scripts (notebook sync, course runner) do what they promise."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
COURSE_NOTEBOOKS = sorted(NOTEBOOKS.glob("*.ipynb"))
EXERCISE_NOTEBOOKS = sorted(NOTEBOOKS.glob("exercises/*.ipynb"))
NOTEBOOK_NAME = re.compile(r"^(\d{2})_[a-z0-9]+(_[a-z0-9]+)*\.ipynb$")
CONDA_TO_PIP = {"pytorch": "torch"}


def load_script(name: str) -> ModuleType:
    """Import ``scripts/<name>.py`` as a module."""
    module_name = f"course_scripts_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def notebook_params(paths: list[Path]) -> list:
    """One pytest parameter per notebook, or a single skipped one while there are none."""
    if not paths:
        return [pytest.param(None, marks=pytest.mark.skip(reason="no notebooks yet"))]
    return [pytest.param(path, id=path.relative_to(NOTEBOOKS).as_posix()) for path in paths]


# --- dependencies ---------------------------------------------------------------------------------------------------


def pyproject_requirements() -> dict[str, SpecifierSet]:
    """Name → version range of every dependency in pyproject.toml, the optional extras included."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = project["dependencies"] + [line for extra in project["optional-dependencies"].values() for line in extra]
    found: dict[str, SpecifierSet] = {}
    for line in lines:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert found.get(name, requirement.specifier) == requirement.specifier, f"{name} has two ranges in pyproject"
        found[name] = requirement.specifier
    found["python"] = SpecifierSet(project["requires-python"])
    return found


def environment_dependencies(text: str) -> tuple[list[str], list[str]]:
    """The conda entries and the pip entries of the ``dependencies`` list of an environment.yml.

    A reader for the plain list format that file uses (PyYAML is not a dependency).
    """
    conda: list[str] = []
    pip: list[str] = []
    section, top_indent = None, None
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        if not line[0].isspace():
            section = line[:-1] if line.endswith(":") else None
            continue
        if section != "dependencies":
            continue
        indent = len(line) - len(line.lstrip())
        item = line.strip()
        assert item.startswith("- "), f"unexpected line in environment.yml: {raw!r}"
        item = item[2:].strip()
        top_indent = indent if top_indent is None else top_indent
        if item != "pip:":
            (conda if indent == top_indent else pip).append(item)
    return conda, pip


def test_environment_reader_reads_nested_pip_list() -> None:
    text = "name: x\ndependencies:\n  - pytorch>=2.1  # torch\n  - pip\n  - pip:\n      - -e .\nchannels:\n  - a\n"
    assert environment_dependencies(text) == (["pytorch>=2.1", "pip"], ["-e ."])


def test_environment_yml_matches_pyproject() -> None:
    conda, pip = environment_dependencies((REPO / "environment.yml").read_text(encoding="utf-8"))
    environment = {}
    for line in conda:
        requirement = Requirement(line)
        name = canonicalize_name(CONDA_TO_PIP.get(requirement.name, requirement.name))
        if name != "pip":
            environment[name] = requirement.specifier
    expected = pyproject_requirements()
    differences = [
        f"{name}: pyproject {expected.get(name, 'missing')}, environment.yml {environment.get(name, 'missing')}"
        for name in sorted(expected.keys() | environment.keys())
        if expected.get(name) != environment.get(name)
    ]
    assert not differences, "pyproject.toml and environment.yml disagree:\n" + "\n".join(differences)
    assert pip == ["-e ."], "environment.yml should pip-install only the course itself"


def imported_modules(paths: list[Path]) -> set[str]:
    """The top-level names of the absolute imports in these notebooks' code cells and Python files."""
    import ast

    found: set[str] = set()
    for path in paths:
        if path.suffix == ".ipynb":
            cells = nbformat.read(path, as_version=4).cells
            source = "\n".join(cell.source for cell in cells if cell.cell_type == "code")
            source = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
        else:
            source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level:
                found.add(node.module.split(".")[0])
    return found


def installed_closure(requirements: list[str]) -> set[str]:
    """These distributions (names canonical) and everything they require, as installed here."""
    from importlib.metadata import PackageNotFoundError, requires

    todo = [Requirement(line) for line in requirements]
    seen: set[str] = set()
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in seen or (requirement.marker and not requirement.marker.evaluate({"extra": ""})):
            continue
        seen.add(name)
        try:
            todo += [Requirement(line) for line in requires(name) or []]
        except PackageNotFoundError:
            pass
    return seen


def test_notebooks_and_helpers_import_only_what_the_course_installs() -> None:
    """What Colab and a plain ``pip install`` get is the core dependency list (and what it pulls in): a module that a
    notebook or the helpers import must come from there, not from a package that happens to be installed here."""
    from importlib.metadata import packages_distributions

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    available = installed_closure(project["dependencies"])
    distributions = packages_distributions()
    modules = imported_modules(COURSE_NOTEBOOKS + sorted((REPO / "helpers").rglob("*.py")))
    third_party = sorted(modules - set(sys.stdlib_module_names) - {"helpers", "__future__"})
    missing = [module for module in third_party
               if not {canonicalize_name(d) for d in distributions.get(module, [module])} & available]
    assert not missing, f"imported but not among pyproject's core dependencies (or theirs): {missing}"


# --- notebooks ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", notebook_params(COURSE_NOTEBOOKS + EXERCISE_NOTEBOOKS))
def test_notebook_is_stripped(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    problems = [
        f"cell {i}: {what}"
        for i, cell in enumerate(nb["cells"])
        for what, bad in [
            ("has outputs", bool(cell.get("outputs"))),
            ("has an execution count", cell.get("execution_count") is not None),
            ("has execution timing metadata", bool({"execution", "ExecuteTime"} & cell["metadata"].keys())),
        ]
        if bad
    ]
    if "widgets" in nb["metadata"]:
        problems.append("notebook metadata keeps widget state")
    assert not problems, f"{path.name} is not stripped (run `nbstripout {path.relative_to(REPO)}`): {problems}"


def test_notebooks_are_synced(capsys: pytest.CaptureFixture[str]) -> None:
    status = load_script("sync_notebooks").main(["--check"])
    assert status == 0, capsys.readouterr()


def test_notebook_names_are_numbered_in_sequence() -> None:
    if not COURSE_NOTEBOOKS:
        pytest.skip("no notebooks yet")
    bad = [path.name for path in COURSE_NOTEBOOKS + EXERCISE_NOTEBOOKS if not NOTEBOOK_NAME.match(path.name)]
    assert not bad, f"notebook names must look like 01_latent_space.ipynb: {bad}"
    numbers = [int(path.name[:2]) for path in COURSE_NOTEBOOKS]
    assert numbers == list(range(1, len(numbers) + 1)), f"notebook numbers must run 01, 02, ...: {numbers}"
    orphans = sorted({p.name for p in EXERCISE_NOTEBOOKS} - {p.name for p in COURSE_NOTEBOOKS})
    assert not orphans, f"exercise notebooks without a course notebook: {orphans}"


def test_readme_lists_every_notebook() -> None:
    if not COURSE_NOTEBOOKS:
        pytest.skip("no notebooks yet")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = [path.stem for path in COURSE_NOTEBOOKS if path.stem not in readme]
    assert not missing, f"README.md does not list {missing}"


# --- scripts/sync_notebooks.py --------------------------------------------------------------------------------------

URL = "https://github.com/someone/ae-course"
BADGE = "https://colab.research.google.com/github/someone/ae-course/blob/main/notebooks/01_demo.ipynb"


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A throwaway course: a pyproject.toml with a repository URL and an empty notebooks folder."""
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "x"\n[project.urls]\nRepository = "{URL}.git"\n')
    (tmp_path / "notebooks").mkdir()
    return tmp_path


def sync_args(course: Path, *extra: str) -> list[str]:
    return ["--notebooks", str(course / "notebooks"), "--pyproject", str(course / "pyproject.toml"), *extra]


def test_sync_adds_badge_after_title_and_setup_cell_second(course: Path) -> None:
    sync = load_script("sync_notebooks")
    path = course / "notebooks" / "01_demo.ipynb"
    nbformat.write(new_notebook(cells=[new_markdown_cell("# 1. Demo\nGoals."), new_code_cell("x = 1")]), path)

    assert sync.main(sync_args(course, "--check")) == 1
    assert sync.main(sync_args(course)) == 0
    nb = nbformat.read(path, as_version=4)
    title, blank, badge, *_ = nb.cells[0].source.split("\n")
    assert (title, blank) == ("# 1. Demo", "")
    assert badge.endswith(f"({BADGE})")
    assert nb.cells[1].metadata.tags == ["colab-setup"]
    assert nb.cells[1].source == sync.setup_source(URL)
    assert 'Path("/content/ae-course")' in nb.cells[1].source
    assert nb.cells[2].source == "x = 1"

    written = path.read_bytes()
    assert sync.main(sync_args(course, "--check")) == 0
    assert sync.main(sync_args(course)) == 0
    assert path.read_bytes() == written, "a second sync must not touch an up-to-date notebook"


def test_sync_replaces_stale_badge_and_moves_setup_cell(course: Path) -> None:
    sync = load_script("sync_notebooks")
    (course / "notebooks" / "exercises").mkdir()
    path = course / "notebooks" / "exercises" / "01_demo.ipynb"
    stale = "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://example.org/old)"
    cells = [
        new_markdown_cell(f"# 1. Demo\n\n{stale}\n\nGoals."),
        new_code_cell("x = 1"),
        new_code_cell("old setup", metadata={"tags": ["colab-setup"]}),
    ]
    nbformat.write(new_notebook(cells=cells), path)
    before = path.read_bytes()

    assert sync.main(sync_args(course, "--check")) == 1
    assert path.read_bytes() == before, "--check must not write"
    assert sync.main(sync_args(course)) == 0
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].source.split("\n")[2].endswith(f"({BADGE.replace('notebooks/', 'notebooks/exercises/')})")
    assert nb.cells[0].source.count("colab-badge.svg") == 1
    assert [cell.source for cell in nb.cells[1:]] == [sync.setup_source(URL), "x = 1"]


# --- scripts/run_course.py ------------------------------------------------------------------------------------------


def test_outline_prefers_learning_goals_over_first_paragraph() -> None:
    run_course = load_script("run_course")
    first_cell = "# 2. Title\n[badge](colab-badge.svg)\n\nIntro.\n\n**Learning goals**: you\n\n- one\n- two\n\nMore."
    with_goals = new_notebook(cells=[new_markdown_cell(first_cell), new_markdown_cell("## 1. Start")])
    assert run_course.outline(with_goals, "x") == ("2. Title", "**Learning goals**: you\n\n- one\n- two")
    without = new_notebook(cells=[new_markdown_cell("# 3. Other\n\nFirst paragraph\nstill.\n\nSecond.")])
    assert run_course.outline(without, "x") == ("3. Other", "First paragraph\nstill.")


def test_run_course_builds_pages_and_stops_at_failing_cell(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("nbclient")
    run_course = load_script("run_course")
    monkeypatch.setenv("COURSE_STATIC", "0")  # the runner must set it to 1; restored after the test
    notebooks, build = tmp_path / "notebooks", tmp_path / "build"
    notebooks.mkdir()
    show_static = new_code_cell("import os\nos.environ['COURSE_STATIC']")
    cells = {
        "01_good": [new_markdown_cell("# 1. Good\n\nIt works."), show_static],
        "02_bad": [new_markdown_cell("# 2. Bad"), new_code_cell("y = 1"), new_code_cell("# Check\nassert y == 2")],
        "03_later": [new_markdown_cell("# 3. Later"), new_code_cell("1")],
    }
    for name, content in cells.items():
        nbformat.write(new_notebook(cells=content), notebooks / f"{name}.ipynb")

    # one at a time: with two, 03 could start while 02 runs (a failure stops only the notebooks not yet started)
    status = run_course.main(["--notebooks", str(notebooks), "--build", str(build), "--timeout", "60", "--jobs", "1"])

    out, err = capsys.readouterr()
    assert status == 1
    assert re.search(r"^01_good +ok +[\d.]+ s$", out, re.MULTILINE), out
    assert "FAILED 02_bad.ipynb: cell 2" in err and "AssertionError" in err and "assert y == 2" in err
    timings = json.loads((build / "timings.json").read_text())["notebooks"]
    assert {name: entry["status"] for name, entry in timings.items()} == {"01_good": "ok", "02_bad": "failed"}
    executed = nbformat.read(build / "01_good.ipynb", as_version=4)
    assert executed.cells[1].outputs[0]["data"]["text/plain"] == "'1'", "the runner must set COURSE_STATIC=1"
    index = (build / "index.html").read_text()
    assert "href='01_good.html'" in index and "It works." in index and "not run" in index
    assert (build / "02_bad.html").exists() and not (build / "03_later.html").exists()


def test_run_course_runs_notebooks_side_by_side(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With --jobs 2 both notebooks run at once: each waits until the other has started."""
    pytest.importorskip("nbclient")
    run_course = load_script("run_course")
    notebooks, build = tmp_path / "notebooks", tmp_path / "build"
    notebooks.mkdir()
    for name, other in (("01_a", "02_b"), ("02_b", "01_a")):
        wait = (f"import time, pathlib\nflags = pathlib.Path({str(tmp_path)!r})\n(flags / '{name}').touch()\n"
                f"deadline = time.time() + 20\nwhile not (flags / '{other}').exists() and time.time() < deadline:\n"
                f"    time.sleep(0.05)\nassert (flags / '{other}').exists(), 'the other notebook never started'")
        nbformat.write(new_notebook(cells=[new_markdown_cell(f"# {name}"), new_code_cell(wait)]),
                       notebooks / f"{name}.ipynb")

    status = run_course.main(["--notebooks", str(notebooks), "--build", str(build), "--timeout", "60", "--jobs", "2"])

    out, _ = capsys.readouterr()
    assert status == 0, out
    assert "(2 at a time)" in out


def test_run_course_runs_one_more_notebook_at_a_time_in_fast_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    run_course = load_script("run_course")
    for cores, full in ((1, 1), (2, 2), (8, 4)):
        monkeypatch.setattr(run_course.os, "cpu_count", lambda cores=cores: cores)
        assert (run_course.default_jobs(False), run_course.default_jobs(True)) == (full, full + 1)


# --- the code a student reads (issue: the course shows what it teaches) ---------------------------------------------

CHECK_SHARE_LIMIT = 0.30
LAYER_BY_POSITION = re.compile(r"""["'](?:encoder|decoder|net)\.\d+["']|\b(?:encoder|decoder)\[\d+\]""")


def code_lines(path: Path) -> tuple[int, int]:
    """(code lines, lines of check cells) of a notebook: non-blank lines of code cells, and of those starting with
    ``# Check``."""
    total = checks = 0
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code" or "colab-setup" in cell.metadata.get("tags", []):
            continue
        lines = [line for line in cell.source.splitlines() if line.strip()]
        total += len(lines)
        if cell.source.lstrip().startswith("# Check"):
            checks += len(lines)
    return total, checks


def test_models_module_is_generated_from_the_notebooks(capsys: pytest.CaptureFixture[str]) -> None:
    assert load_script("export_models").main(["--check"]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("path", notebook_params(COURSE_NOTEBOOKS))
def test_check_cells_are_at_most_thirty_percent_of_the_code(path: Path) -> None:
    total, checks = code_lines(path)
    assert checks <= CHECK_SHARE_LIMIT * total, f"{path.name}: {checks} of {total} code lines are check cells"


@pytest.mark.parametrize("path", notebook_params(COURSE_NOTEBOOKS))
def test_no_notebook_addresses_a_layer_by_position(path: Path) -> None:
    sources = [cell.source for cell in nbformat.read(path, as_version=4).cells]
    found = [match for source in sources for match in LAYER_BY_POSITION.findall(source)]
    assert not found, f"{path.name} addresses layers by position ({found}): use their names"


def helpers_imports() -> dict[str, set[str]]:
    """Module → the helpers modules it imports (``from .x import`` or ``from . import x``), inside functions too:
    an import moved into a function to dodge a cycle is still a cycle."""
    import ast

    graph: dict[str, set[str]] = {}
    for path in sorted((REPO / "helpers").rglob("*.py")):
        name = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
                found |= {target} if node.module else {f"{base}.{alias.name}" for alias in node.names}
        graph[name] = found
    return graph


def test_helpers_have_no_import_cycle() -> None:
    graph = helpers_imports()
    state: dict[str, str] = {}

    def visit(module: str, trail: list[str]) -> None:
        if state.get(module) == "done":
            return
        assert state.get(module) != "open", "import cycle: " + " → ".join(trail + [module])
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            visit(target, trail + [module])
        state[module] = "done"

    for module in graph:
        visit(module, [])
    for measures in ("helpers.metrics", "helpers.disentanglement"):
        assert graph[measures].isdisjoint({"helpers.train", "helpers.zoo"}), f"{measures} only measures"


def test_every_helpers_module_loads_on_first_use() -> None:
    import helpers

    modules = {path.stem for path in (REPO / "helpers").glob("*.py") if path.stem != "__init__"}
    assert modules | {"checks"} == set(helpers.SUBMODULES), "helpers.SUBMODULES must list every module"
