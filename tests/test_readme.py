"""The README's test command is what CI runs."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    blocks = readme.split("```bash\n")
    test_cmd = next(b.split("\n")[0] for b in blocks[1:] if "pytest" in b.split("\n")[0])
    assert test_cmd in ci.splitlines()
