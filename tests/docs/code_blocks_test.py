"""Every ```python block of the documentation runs, as the pages say.

The pages are README.md and every page under docs/ (the generated recipe
and API pages hold no blocks of their own). A page's blocks run in order in
one namespace (a guide may build its model over several blocks), in a fresh
folder. A comment line `# setup: STATEMENT` (what a fragment takes from its
context) or `# tiny: STATEMENT` (what CI changes to finish in seconds) runs
as code where it stands; nothing else in a block is changed. A block whose
first line is `# not run here: REASON` is not run: the reader sees why.
"""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))
_MARKED = re.compile(r"^(\s*)# (?:setup|tiny): (.*)$", flags=re.M)
NOT_RUN = re.compile(r"^# not run here: (.*)$")


def python_blocks(text):
    """`[(line, code)]`: every ```python block (dedented, a list item's too) and
    the line of the page it starts on."""
    blocks = []
    for match in re.finditer(r"^( *)```python\n(.*?)^\1```", text, flags=re.S | re.M):
        indent = len(match.group(1))
        code = "".join(line[indent:] for line in match.group(2).splitlines(keepends=True))
        blocks.append((text.count("\n", 0, match.start()) + 1, code))
    return blocks


def runnable(code):
    """`code` with its `# setup:` and `# tiny:` comment lines made statements."""
    return _MARKED.sub(r"\1\2", code)


def not_run_reason(code):
    """The reason a block is not run (its first line), or None."""
    match = NOT_RUN.match(code.split("\n", 1)[0])
    return match and match.group(1).strip()


def _relative(page):
    return str(page.relative_to(ROOT))


BLOCKS = {_relative(page): python_blocks(page.read_text()) for page in PAGES}
WITH_BLOCKS = [page for page, blocks in BLOCKS.items() if blocks]


def test_the_marked_lines_are_the_only_change():
    code = "x = 1\n# tiny: x = 2\n  # setup: y = x\n# a comment: stays\n"
    assert runnable(code) == "x = 1\nx = 2\n  y = x\n# a comment: stays\n"
    assert not_run_reason("# not run here: needs ImageNet\nx = 1\n") == "needs ImageNet"
    assert not_run_reason("x = 1\n# not run here: late\n") is None
    assert len(WITH_BLOCKS) >= 10 and sum(map(len, BLOCKS.values())) >= 20


def test_every_block_not_run_says_why():
    for page, blocks in BLOCKS.items():
        for line, code in blocks:
            if "# not run here:" in code:
                assert not_run_reason(code), f"{page}:{line}: the reason must be the first line"


@pytest.mark.tensorflow
@pytest.mark.parametrize("page", WITH_BLOCKS)
def test_every_python_block_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # blocks that write (checkpoints, tuner trials) write here
    namespace = {"__name__": "__docs__"}
    for line, code in BLOCKS[page]:
        if not_run_reason(code):
            continue
        exec(compile(runnable(code), f"{page}:{line}", "exec"), namespace)
