"""``rasim explore`` in a real browser: Chromium driven by Playwright against the app served on
localhost by the command itself.  Skipped where Panel, Playwright or Chromium is missing.
The tests write the docs' screenshots (docs/images/explore-*.png), so they are never stale."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("panel")
sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
if CHROMIUM is None:
    pytest.skip("no Chromium installed (apt-get install chromium)", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
STARTUP_S = 900  # a first start compiles the kernels


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    env = {**os.environ, "MPLBACKEND": "Agg"}
    cmd = [sys.executable, "-m", "rasim", "explore", "--port", str(port), "--no-browser"]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("localhost", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail(f"rasim explore did not start: {proc.stderr.read() if proc.stderr else ''}")
    yield f"http://localhost:{port}/"
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def page(server):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server)
        page.wait_for_selector("#patient-numbers", timeout=120_000)
        yield page
        browser.close()


def das28(page) -> list[float]:
    return json.loads(page.locator("#patient-numbers").get_attribute("data-das28"))


def changed(page, read, before, timeout_s: float = 30.0):
    """``read(page)`` once it differs from ``before``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = read(page)
        if now != before:
            return now
        time.sleep(0.1)
    raise AssertionError(f"the page did not change within {timeout_s} s")


def tab(page, name: str) -> None:
    page.locator(".bk-tab").filter(has_text=name).first.click()


def test_page_loads_with_the_typical_patient(page):
    tab(page, "Patient")
    assert page.get_by_text("rasim explore").first.is_visible()
    values = das28(page)
    assert len(values) == 158 and 5.0 < values[0] < 8.0  # weekly over 3 years, active disease at day 0
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=IMAGES / "explore-patient.png", full_page=True)


def test_moving_a_slider_changes_the_plotted_das28(page):
    tab(page, "Patient")
    before = das28(page)
    handle = page.locator(".noUi-handle").first  # the MSC dose: 4e7 -> 1e8 cells
    handle.focus()
    page.keyboard.press("ArrowRight")
    after = changed(page, das28, before)
    assert after[0] == pytest.approx(before[0], abs=1e-3)  # the same patient at day 0
    assert min(after[1:27]) < min(before[1:27]) - 0.05  # more cells, a deeper response
    page.keyboard.press("ArrowLeft")
    assert changed(page, das28, after) == before


def test_a_bad_input_shows_rasims_error_and_the_page_keeps_working(page):
    tab(page, "Patient")
    before = das28(page)
    days = page.locator(".msc-days input")
    days.fill("-7")
    days.press("Enter")
    error = page.locator(".patient-error")
    error.wait_for(state="visible", timeout=30_000)
    message = error.get_by_text("MSC infusion day must be >= 0")  # rasim's own message
    message.wait_for(timeout=10_000)
    days.fill("0, 120")
    days.press("Enter")
    error.wait_for(state="hidden", timeout=30_000)
    second = changed(page, das28, before)
    assert second[:17] == before[:17] and second[30] < before[30]  # the same until day 120, then better
    days.fill("0")
    days.press("Enter")
    assert changed(page, das28, second) == before


def test_copy_as_python_reproduces_the_plotted_numbers(page, tmp_path):
    tab(page, "Patient")
    page.get_by_role("button", name="Copy as Python").first.click()
    code = page.locator(".patient-python textarea").input_value()
    script = tmp_path / "patient.py"
    script.write_text(code)
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    printed = json.loads(r.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(printed, das28(page), atol=1e-3)


def test_a_cohort_run_completes_and_shows_its_bands(page):
    tab(page, "Cohort")
    page.locator(".cohort-scenario select").select_option("dose_response")
    page.locator(".cohort-patients .noUi-handle").focus()
    page.keyboard.press("Home")  # 100 patients per arm
    page.locator(".cohort-run button").click()
    table = page.locator("#cohort-responders")
    table.wait_for(state="attached", timeout=300_000)
    median = json.loads(table.get_attribute("data-median_das28"))
    assert set(median) == {"dmard", "uc_msc_1e7+dmard", "uc_msc_4e7+dmard", "uc_msc_1e8+dmard"}
    assert all(2.0 < v < 8.0 for v in median.values())
    page.locator(".cohort-status").get_by_text("4 arms x 100 patients").wait_for(timeout=10_000)
    assert page.locator(".cohort-bands img").is_visible()
    page.screenshot(path=IMAGES / "explore-cohort.png", full_page=True)


def test_a_sweep_shows_its_heat_map_and_a_clicked_cell(page):
    tab(page, "Sweep")
    page.locator(".sweep-run button").click()
    numbers = page.locator("#sweep-numbers")
    numbers.wait_for(state="attached", timeout=120_000)
    values = json.loads(numbers.get_attribute("data-values"))
    assert len(values) == 16 and values[0] > values[-1]  # no MSC and no MTX is worst
    first = int(numbers.get_attribute("data-cell"))
    canvas = page.locator(".bk-Canvas, canvas").first
    box = canvas.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.75)
    cell = changed(page, lambda p: int(p.locator("#sweep-numbers").get_attribute("data-cell")), first)
    assert cell != first
    page.screenshot(path=IMAGES / "explore-sweep.png", full_page=True)
