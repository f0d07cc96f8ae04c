"""Packaging: one version, typed marker, changelog."""

from importlib import resources
from pathlib import Path

import rasim
from rasim import output

ROOT = Path(__file__).resolve().parents[1]


def test_one_version():
    assert output.version() == rasim.__version__
    assert (
        f'version = "{rasim.__version__}"' in (ROOT / "pyproject.toml").read_text() or rasim.__version__ == "0+unknown"
    )


def test_typed_and_changelog():
    assert (resources.files("rasim") / "py.typed").is_file()
    assert "**[output-changing]**" in (ROOT / "CHANGELOG.md").read_text()
