"""Scenario files in the dashboard: download the settings, load a file to fill the controls.

The download is the settings as a scenario file (``market.Scenario.source_text``: the TOML
text of the settings), offered only when they are valid, so that every file it writes loads.
A file loaded (from the browser, or from the scenarios beside the starting one) fills the
controls even when it is invalid: its problems then show beside the controls.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import solara
from ipyvuetify.extra import FileInput

from market.dashboard.controls import Messages

__all__ = ["FilePanel", "ScenarioUpload", "library"]

#: The largest scenario file the dashboard reads (bytes), as ``market.load_scenario``.
MAX_BYTES = 1 << 20
TOO_LARGE = f"expected a scenario file of at most {MAX_BYTES} bytes"

#: ``load(name, text, problem)``: the text of a file named ``name``, or None and why not.
Load = Callable[[str, "str | None", "str | None"], None]


def library(start: str | None) -> list[Path]:
    """The scenario files beside the starting one (sorted by name)."""
    if not start:
        return []
    folder = Path(start).resolve().parent
    return sorted(p for p in folder.glob("*.toml") if p.is_file())


@solara.component
def ScenarioUpload(on_text: Load):
    """Choose a ``.toml`` file in the browser; ``on_text(name, text, None)`` gets its text."""
    info, set_info = solara.use_state(None)
    files, set_files = solara.use_state(None)
    element = FileInput.element(
        accept=".toml", multiple=False, on_file_info=set_info, show_progress=False
    )

    def wire() -> None:
        if info:
            widget = solara.get_widget(element)
            widget.version += 1
            widget.reset_stats()
            set_files(widget.get_files())

    solara.use_effect(wire, [info])

    def read() -> None:
        if not files:
            return
        item = files[0]
        if item.get("size", 0) > MAX_BYTES:
            on_text(item["name"], None, TOO_LARGE)
            return
        data = item["file_obj"].read()
        try:
            on_text(item["name"], data.decode("utf-8"), None)
        except UnicodeDecodeError:
            on_text(item["name"], None, "expected UTF-8 text")

    solara.use_thread(read, [files])
    return element


@solara.component
def FilePanel(
    checked,
    name: str,
    start: str | None,
    load: Load,
    error: str | None,
    reset: Callable[[], None],
):
    """Download the settings; load a file (from the browser or the library); reset."""
    with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
        if checked.scenario is not None:
            text = checked.scenario.source_text
            solara.FileDownload(
                text.encode("utf-8"),
                filename=f"{name}.toml",
                label="download scenario (TOML)",
                mime_type="application/toml",
            )
        else:
            solara.Button(
                "download scenario (TOML)", disabled=True, icon_name="mdi-cloud-download-outline"
            )
        solara.Button("reset", text=True, on_click=reset)
    if checked.scenario is None:
        solara.Text("fix the problems to download", style={"font-size": "0.8rem", "opacity": "0.7"})
    solara.Text("load a scenario file (TOML):", style={"font-size": "0.85rem"})
    ScenarioUpload(load)
    files = library(start)
    if files:
        solara.Select(
            "or open one beside the first",
            values=[p.name for p in files],
            value=None,
            on_value=lambda file: _open(Path(start).resolve().parent / file, load),
        )
    Messages([error] if error else [])


def _open(path: Path, load: Load) -> None:
    try:
        if path.stat().st_size > MAX_BYTES:
            load(path.name, None, TOO_LARGE)
            return
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        load(path.name, None, "expected UTF-8 text")
        return
    except OSError as exc:
        load(path.name, None, f"cannot read the file ({exc.strerror})")
        return
    load(path.name, text, None)
