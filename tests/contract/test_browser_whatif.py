"""A real browser on the what-if notebook: JupyterLab + headless Chromium (issue 13, item 4).

Starts JupyterLab on 127.0.0.1 (a free port, a token, ``--allow-root`` as root) on a temporary
copy of ``notebooks/06_what_if.ipynb``, opens it in Debian's ``chromium`` driven by Playwright
(its pip wheel ships only the driver; no browser is downloaded), runs every cell, drags the
*County earmark* slider and checks that the re-planned summary table changed. Screenshots
before and after go to the test's temporary folder; their paths are printed.

Skipped, with the reason, when ``chromium`` or the ``playwright`` package is missing
(``make browser-deps`` installs chromium; ``pip install -e '.[test]'`` installs playwright).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "06_what_if.ipynb"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Seconds for the notebook's first run (a cold cache computes the exit yields) and a re-plan.
RUN_TIMEOUT_S = 900
REPLAN_TIMEOUT_S = 300

pytestmark = pytest.mark.browser


def _require_browser() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install -e '.[test]')")
    if not Path(CHROMIUM).is_file():
        pytest.skip(
            "Debian's chromium is not installed: make browser-deps "
            "(as root: apt-get update && apt-get install -y chromium)"
        )
    return sync_playwright


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Lab:
    url: str
    token: str
    log: Path


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer at {url}:\n{log.read_text()[-3000:]}")


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """JupyterLab serving a temporary copy of the notebook (the repository's stays untouched)."""
    root = tmp_path / "lab"
    (root / "notebooks").mkdir(parents=True)
    shutil.copyfile(NOTEBOOK, root / "notebooks" / NOTEBOOK.name)
    port, token = _free_port(), secrets.token_hex(16)
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
        f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = tmp_path / "jupyterlab.log"
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}
    env.pop("PYTEST_CURRENT_TEST", None)
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{url}/api/status?token={token}", process, log)
        yield Lab(url, token, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


_KERNEL_IDLE = """() => {
    const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const kernel = widget && widget.sessionContext && widget.sessionContext.session
        && widget.sessionContext.session.kernel;
    return Boolean(kernel && kernel.status === 'idle');
}"""


def _slider(page: Any, label: str) -> Any:
    return page.locator(".widget-slider", has=page.locator(".widget-label", has_text=label)).first


def _summary_text(page: Any) -> str:
    """The re-planned summary table the panel shows (its first view)."""
    table = page.locator(".jp-OutputArea-output .widget-output table").first
    return str(table.inner_text())


def test_moving_a_slider_in_chromium_replans_the_tables(lab: Lab, tmp_path: Path) -> None:
    sync_playwright = _require_browser()
    before_png, after_png = tmp_path / "what_if_before.png", tmp_path / "what_if_after.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            page.goto(f"{lab.url}/lab/tree/notebooks/{NOTEBOOK.name}?token={lab.token}")
            page.wait_for_selector(".jp-Notebook", timeout=120_000)
            page.wait_for_function(_KERNEL_IDLE, timeout=120_000)
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            status = page.locator(".widget-html", has_text="Re-planned in").first
            status.wait_for(timeout=RUN_TIMEOUT_S * 1000)
            slider = _slider(page, "County earmark")
            slider.scroll_into_view_if_needed()
            readout_before = slider.locator(".widget-readout").inner_text()
            status_before = status.inner_text()
            summary_before = _summary_text(page)
            page.screenshot(path=str(before_png), full_page=False)

            handle = slider.locator(".noUi-handle").first
            box = handle.bounding_box()
            assert box is not None, "the slider's handle is not drawn"
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            page.mouse.move(x, y)
            page.mouse.down()
            page.mouse.move(x + 120, y, steps=8)
            page.mouse.up()

            page.wait_for_function(
                "([before]) => Array.from(document.querySelectorAll('.widget-html'))"
                ".some(e => e.innerText.includes('Re-planned in') && e.innerText !== before)",
                arg=[status_before],
                timeout=REPLAN_TIMEOUT_S * 1000,
            )
            readout_after = slider.locator(".widget-readout").inner_text()
            summary_after = _summary_text(page)
            slider.scroll_into_view_if_needed()
            page.screenshot(path=str(after_png), full_page=False)
        finally:
            browser.close()

    print(f"\nwhat-if screenshots: {before_png} (before), {after_png} (after)")
    print(f"County earmark slider: {readout_before} -> {readout_after}")
    print(f"summary before:\n{summary_before}\nsummary after:\n{summary_after}")
    assert readout_after != readout_before, "the slider did not move"
    assert summary_after != summary_before, "moving the slider did not change the summary table"
    assert "money available" in summary_after
    assert before_png.stat().st_size > 10_000 and after_png.stat().st_size > 10_000
