"""Every Python code block in README.md and docs/*.md runs.

A fenced ```python block either holds ``>>>`` examples (run as a doctest, outputs compared) or
plain code (executed; it must not raise). Blocks run in a fresh temporary folder, in the order
they appear in their file, sharing one namespace per file, so a page can build on an earlier
block. A block whose first line is ``# needs: NAME[, NAME]`` is skipped (with the reason) unless
those weight sets are cached. Shell blocks are not run here: the README's two commands are
checked by tests/test_readme.py and by CI itself.
"""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.S | re.M)


def blocks(page: Path) -> list[str]:
    return FENCE.findall(page.read_text(encoding="utf-8"))


CASES = [pytest.param(page, id=page.relative_to(ROOT).as_posix()) for page in PAGES if blocks(page)]


def test_there_are_examples_to_run():
    assert CASES, "README.md and docs/*.md should show Python examples"


@pytest.mark.parametrize("page", CASES)
def test_python_blocks_run(page, tmp_path, monkeypatch, real_weights):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    for i, code in enumerate(blocks(page), 1):
        first = code.lstrip().splitlines()[0] if code.strip() else ""
        if first.startswith("# needs:"):
            for name in first.split(":", 1)[1].split(","):
                real_weights(name.strip())
        where = f"{page.name}, python block {i}"
        if ">>>" in code:
            test = doctest.DocTestParser().get_doctest(code, namespace, where, str(page), 0)
            runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
            runner.run(test, clear_globs=False)
            namespace.update(test.globs)
            assert runner.failures == 0, f"{where}: {runner.failures} example(s) failed (see output)"
        else:
            exec(compile(code, where, "exec"), namespace)  # noqa: S102 - the docs' own examples


LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("page", [pytest.param(p, id=p.relative_to(ROOT).as_posix()) for p in PAGES])
def test_relative_links_resolve(page):
    """Every relative link and picture of a page names a file of the repository."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    missing = [target for target in LINK.findall(text)
               if "://" not in target and not target.startswith("mailto:")
               and not (page.parent / target).exists()]
    assert not missing, f"{page.name} links to missing files: {missing}"
