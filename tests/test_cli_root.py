import tomllib
from pathlib import Path

from typer.testing import CliRunner

from artkit import __version__
from artkit.cli import app

ROOT = Path(__file__).resolve().parents[1]


def test_help_lists_groups_and_version():
    r = CliRunner().invoke(app, ["--help"])
    assert r.exit_code == 0 and "weights" in r.output
    r = CliRunner().invoke(app, ["--version"])
    assert r.exit_code == 0 and r.output.strip() == f"artkit {__version__}"
    r = CliRunner().invoke(app, ["no-such-command"])
    assert r.exit_code == 2


def test_every_package_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "artkit").rglob("__init__.py")}
    assert found <= listed, f"add to pyproject.toml packages: {sorted(found - listed)}"
