"""``market dashboard`` as a user meets it: the command, the server, and one end-to-end test in
a real headless browser (Playwright driving Debian's ``chromium``, which ``.ci/run`` installs;
without it, or without the page's scripts in Solara's cache, that test is skipped and says
why)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

import market as mk

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT / "scenarios" / "paper_example.toml"
#: The paper's optimal revenue as the table shows it (Section 3.1: 0.2019806).
PAPER_REVENUE = "0.2019806"
#: Debian's Chromium, and the flags this machine needs (no sandbox as root, no network
#: beyond localhost, no first-run work).
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Seconds to wait for the server, the page and the table.
START, LOAD, UPDATE = 60, 90, 60
#: The revenue cell of the optimal menu in the comparison table.
CELL = 'tr[data-policy="optimal token menu"] td[data-column="revenue"]'


def _why_no_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if not os.access(CHROMIUM, os.X_OK):
        return (
            f"Chromium not found ({CHROMIUM}): install Debian's package as root with "
            "'apt-get install -y chromium' (.ci/run does)"
        )
    from market.dashboard.assets import missing

    lacking = missing()
    if lacking:
        return (
            f"the page's scripts are not in Solara's cache ({', '.join(lacking)}) and this "
            "machine cannot fetch them from its CDN: python -m market.dashboard.assets "
            "(.ci/run does)"
        )
    return None


WHY_NO_BROWSER = _why_no_browser()


def market(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "market", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
        **kwargs,
    )


class Server:
    """``market dashboard`` in a child process, on a port the system picks; :meth:`ready`
    waits until it serves (it starts while the first tests of the module run)."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "market", "dashboard", *args, "--port", "0"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.url = None

    def ready(self) -> Server:
        if self.url is not None:
            return self
        line = self.process.stdout.readline()
        found = re.search(r"http://localhost:(\d+)/", line)
        assert found, (line, self.process.stderr.read() if self.process.poll() else "")
        self.port = int(found.group(1))
        deadline = time.time() + START
        while not self._listening():
            assert self.process.poll() is None, self.process.stderr.read()
            assert time.time() < deadline, f"the server did not start in {START} s"
            time.sleep(0.1)
        self.url = found.group(0)
        return self

    def _listening(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("localhost", self.port)) == 0

    def stop(self, signum: int) -> tuple[int, str]:
        """Send ``signum``; the exit status and what the server wrote on stderr."""
        self.process.send_signal(signum)
        try:
            _, err = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        return self.process.returncode, err

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


# -- the command ------------------------------------------------------------------------------


def test_help_is_fast_and_imports_no_solara():
    code = (
        "import sys; from market.cli import main; main(['dashboard', '--help']); "
        "assert not any(m.split('.')[0] in ('solara', 'uvicorn', 'mesa') for m in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "--port" in done.stdout and "--host" in done.stdout


def test_a_scenario_that_does_not_load_exits_2_before_serving(tmp_path, capsys):
    from market.cli import main

    assert main(["dashboard", str(tmp_path / "missing.toml")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.strip() == f"error: {tmp_path / 'missing.toml'}: file not found"
    bad = tmp_path / "bad.toml"
    bad.write_text(PAPER.read_text().replace("high = 2.0", "high = 0.5"))
    assert main(["dashboard", str(bad)]) == 2
    expected = f"error: {bad}: urgency.low = 1.0: expected low < high = 0.5"
    assert capsys.readouterr().err.strip() == expected


def test_a_taken_port_exits_2_naming_it(capsys):
    from market.cli import main

    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert main(["dashboard", str(PAPER), "--port", str(port)]) == 2
    assert capsys.readouterr().err.startswith(f"error: --port = {port} on --host = localhost: ")


@pytest.fixture(scope="module", autouse=True)
def booting():
    """One server for the tests of this module, started with the module (the last test
    stops it)."""
    running = Server(str(PAPER))
    yield running
    running.kill()


@pytest.fixture
def server(booting):
    return booting.ready()


def test_the_server_serves_the_page(server):
    with urllib.request.urlopen(server.url, timeout=LOAD) as response:
        assert response.status == 200 and "solara" in response.read().decode().lower()


# -- the page in a real browser ---------------------------------------------------------------


@pytest.mark.skipif(WHY_NO_BROWSER is not None, reason=WHY_NO_BROWSER or "")
def test_the_page_in_a_real_browser(server, tmp_path):
    """Open the page, change the urgency's upper bound, wait for the table, and find the
    optimal menu's revenue the API gives for the same scenario; screenshot; no errors.

    With ``DASHBOARD_SCREENSHOT=path``, the page as it opens on the paper's example is also
    saved there (the README's ``docs/dashboard.png``)."""
    from playwright.sync_api import expect, sync_playwright

    data = tomllib.loads(PAPER.read_text())
    data["urgency"]["high"] = 2.5
    want = f"{mk.solve(data, ['optimal token menu'])['optimal token menu'].revenue:.7g}"
    shot = tmp_path / "dashboard.png"
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            tmp_path / "profile",  # a fresh profile
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 1500, "height": 1000},
        )
        page = browser.new_page()
        page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
        page.on(
            "console",
            lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None,
        )
        page.goto(server.url)
        cell = page.locator(CELL)
        expect(cell).to_have_text(PAPER_REVENUE, timeout=LOAD * 1000)
        if os.environ.get("DASHBOARD_SCREENSHOT"):
            page.locator("canvas, svg.marks").first.wait_for(timeout=LOAD * 1000)  # a chart
            page.screenshot(path=os.environ["DASHBOARD_SCREENSHOT"])
        field = page.get_by_label("upper bound r̄")
        field.fill("2.5")
        start = time.perf_counter()
        field.press("Enter")
        expect(cell).to_have_text(want, timeout=UPDATE * 1000)
        took = time.perf_counter() - start
        expect(page.get_by_text("solving…")).to_have_count(0)
        page.screenshot(path=str(shot))
        browser.close()
    print(f"control change -> updated table in the browser: {took:.2f} s")
    assert want != PAPER_REVENUE and shot.stat().st_size > 20_000
    assert errors == []


def test_ctrl_c_stops_the_server_cleanly(server):
    status, err = server.stop(signal.SIGINT)
    assert status == 128 + signal.SIGINT
    assert err.strip().endswith("market dashboard: stopped (SIGINT)")
