"""The documentation site: generated reference pages current, every page in the nav, CI's install
equal to the README's."""

import re
from pathlib import Path

import pytest

from conftest import load_script

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    pytest.importorskip("sympy")
    return load_script(ROOT / "tools" / "build_reference.py")


def test_reference_pages_are_current():
    tool = _tool()
    stale = [str(p.relative_to(ROOT)) for p in tool.stale()]
    assert not stale, f"{', '.join(stale)} out of date with the code: run python tools/build_reference.py"


def test_reference_pages_cover_the_model():
    from rasim import model

    tool = _tool()
    pages = {p.name: text for p, text in tool.pages().items()}
    assert all(f"## `{name}`" in pages["equations.md"] for name in model.NAMES)
    assert all(f"| `{name}` |" in pages["states.md"] for name in model.NAMES)
    assert all(
        f"| `{p.name}` |" in pages["parameters.md"] for t in model.TABLE_FILES for p in model.entries(t).values()
    )
    assert all(f"## {t.title[:1].upper()}{t.title[1:]}\n" in pages["parameters.md"] for t in model.TABLE_FILES.values())
    assert all(f"| `{key}` |" in pages["parameters.md"] for key in model.REFERENCES)


def test_every_page_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = sorted(str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs").rglob("*.md"))
    assert [p for p in pages if f": {p}" not in nav] == []


def test_ci_installs_what_the_readme_says():
    ci = re.findall(r'pip install --quiet -e "\.\[([\w,]+)\]"', (ROOT / ".ci" / "run").read_text())
    readme = re.findall(r'pip install -e "\.\[([\w,]+)\]" && python -m pytest', (ROOT / "README.md").read_text())
    assert ci == readme and len(ci) == 1 and "docs" in ci[0].split(",")
