"""CI (.ci/run) runs README's test command first, then the whole course in full mode with an empty checkpoint
cache, so that the claims only full mode checks (fast mode skips them) are checked by someone."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def commands() -> list[str]:
    """The command lines of .ci/run, comments and blank lines left out."""
    lines = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def make_targets() -> list[tuple[str, str]]:
    """(target, whole line) of every make call in .ci/run, in order."""
    found = []
    for line in commands():
        words = shlex.split(line)
        if "make" in words:
            found.append((words[words.index("make") + 1], line))
    return found


def test_ci_runs_the_readmes_test_command_first():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "make test" in re.search(r"## Tests\n+```bash\n(.+?)\n```", readme).group(1)
    assert make_targets()[0][0] == "test"


def test_ci_then_runs_the_whole_course_in_full_mode_with_an_empty_cache():
    runs = [line for target, line in make_targets() if target == "run"]
    assert len(runs) == 1, "CI must run the course once with make run"
    (line,) = runs
    assert "--fast" not in line and "--only" not in line and "COURSE_FAST" not in "\n".join(commands())
    assert re.search(r'COURSE_DATA_DIR="\$scratch/[^"]*"', line) and '--build $scratch/' in line
    assert any(re.fullmatch(r"scratch=\$\(mktemp -d\)", c) for c in commands())
    assert [target for target, _ in make_targets()].index("run") > 0
