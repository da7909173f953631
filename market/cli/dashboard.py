"""``market dashboard [SCENARIO] [--port P] [--host H]``: the dashboard in the browser.

Starts Solara's server (uvicorn) with the app :mod:`market.dashboard.app` on the scenario
file (default: the paper's example, ``scenarios/paper_example.toml``), prints the address
and serves until Ctrl-C, SIGTERM or SIGHUP, which stop it cleanly (exit 128 + the signal).
While the server starts, a thread imports the app and solves the scenario, so that the
first page opens on a solution already at hand.
A scenario that does not load, or a port that is taken, exits 2 before anything starts.
Solara, uvicorn and the app are imported only when the command runs.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
from pathlib import Path

from market.cli.errors import UsageError

__all__ = ["add_arguments", "command"]

#: The app Solara serves (a module path, so that nothing imports the dashboard to build the
#: parser).
APP = "market.dashboard.app"
#: Solara's own default port.
DEFAULT_PORT = 8765


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "scenario", nargs="?", help="scenario file (TOML); default: scenarios/paper_example.toml"
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any)"
    )
    parser.add_argument("--host", default="localhost", help="host (default localhost)")


def command(args: argparse.Namespace) -> int:
    """Serve the dashboard until interrupted."""
    from market.dashboard import ENV, default_scenario
    from market.scenario import load_scenario

    path = Path(args.scenario) if args.scenario else default_scenario()
    if path is None:
        raise UsageError("no scenario given and scenarios/paper_example.toml not found")
    load_scenario(path)  # a scenario that does not load: exit 2 with its problems
    port = _free_port(args.host, args.port)
    os.environ[ENV] = str(path.resolve())
    os.environ["SOLARA_APP"] = APP
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    _warn_missing_assets()
    server = _server(args.host, port)
    signal.signal(signal.SIGHUP, server.handle_exit)  # like SIGTERM: a clean shutdown
    threading.Thread(target=_warm, args=(str(path.resolve()),), daemon=True).start()
    print(f"market dashboard: {path} at http://{args.host}:{port}/ (Ctrl-C stops it)", flush=True)
    try:
        server.run()
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        print(f"market dashboard: stopped ({signal.Signals(signum).name})", file=sys.stderr)
        return 128 + signum
    signum = getattr(server, "market_signal", None)
    print(f"market dashboard: stopped{f' ({signum.name})' if signum else ''}", file=sys.stderr)
    return 128 + signum if signum else 0


def _free_port(host: str, port: int) -> int:
    """``port``, checked free on ``host`` (0: one the system picks)."""
    if not 0 <= port <= 65535:
        raise UsageError(f"--port = {port}: expected a port from 0 to 65535")
    try:
        with socket.create_server((host, port)) as sock:
            return sock.getsockname()[1]
    except OSError as exc:
        raise UsageError(f"--port = {port} on --host = {host}: {exc.strerror or exc}") from None


def _warn_missing_assets() -> None:
    """Say how to install the page's scripts when Solara's cache lacks them (offline)."""
    from market.dashboard.assets import missing

    try:
        lacking = missing()
    except OSError:
        return
    if lacking:
        print(
            "market dashboard: note: the page loads "
            f"{', '.join(lacking)} from Solara's CDN; on a machine without that access, "
            "install them first: python -m market.dashboard.assets",
            file=sys.stderr,
        )


def _warm(path: str) -> None:
    """Import the app and solve its first scenario while the server starts (a failure here
    only means the first page solves it itself)."""
    try:
        from market.dashboard.app import warm

        warm(path)
    except Exception:  # noqa: BLE001 - the page reports its own problems
        pass


def _server(host: str, port: int):
    """A uvicorn server of Solara's app that remembers the signal that stopped it."""
    import solara.server.settings
    import uvicorn

    solara.server.settings.main.mode = "production"
    config = uvicorn.Config(
        "solara.server.starlette:app", host=host, port=port, log_level="warning", lifespan="on"
    )

    class Server(uvicorn.Server):
        market_signal = None

        def handle_exit(self, sig, frame):
            self.market_signal = signal.Signals(sig)
            super().handle_exit(sig, frame)

    return Server(config)
