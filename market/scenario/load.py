"""Reading scenarios: from a TOML file, from TOML text, or from a dictionary.

Every path goes through one validation (:func:`scenario_from_dict`): the pydantic schema of
:mod:`market.scenario.schema`, then each ``[[policies]]`` table by
:mod:`market.scenario.policies`. All problems are reported at once, one line each, by a
:class:`~market.scenario.errors.ScenarioError`.
"""

from __future__ import annotations

import copy
import os
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from market.scenario.errors import ScenarioError, one_line, problems, show
from market.scenario.policies import parse_policy
from market.scenario.schema import Scenario, fields_at

__all__ = ["MAX_FILE_BYTES", "load_scenario", "parse_scenario", "scenario_from_dict"]

#: A scenario file larger than this is refused (a scenario is a few hundred bytes).
MAX_FILE_BYTES = 1 << 20
#: The longest scenario name (it names a folder: file names are limited to 255 bytes).
MAX_NAME = 100


def load_scenario(path: str | os.PathLike) -> Scenario:
    """Read and validate the scenario file ``path``; ``name`` defaults to the file's stem.

    Raises
    ------
    ScenarioError
        One line per problem: ``<file>: <field> = <value>: expected <what>``, or a file or
        TOML problem.
    """
    source = str(path)
    return parse_scenario(_read(Path(path), source), source, default_name=Path(path).stem)


def _read(path: Path, source: str) -> str:
    """The text of a regular file of at most :data:`MAX_FILE_BYTES` (never a FIFO or device)."""
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise ScenarioError(f"{source}: is a directory, expected a scenario file")
        if not stat.S_ISREG(info.st_mode):
            raise ScenarioError(f"{source}: not a regular file, expected a scenario file")
        if info.st_size > MAX_FILE_BYTES:
            raise ScenarioError(
                f"{source}: {info.st_size} bytes, expected a scenario file of at most "
                f"{MAX_FILE_BYTES} bytes"
            )
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ScenarioError(f"{source}: file not found") from None
    except OSError as exc:
        raise ScenarioError(f"{source}: cannot read the file ({exc.strerror})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(f"{source}: expected UTF-8 text") from None


def parse_scenario(text: str, source: str = "<scenario>", default_name: str | None = None):
    """Validate the TOML ``text`` of a scenario; ``source`` names it in error messages."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: invalid TOML: {one_line(str(exc))}") from None
    return scenario_from_dict(raw, source, default_name=default_name, text=text)


def scenario_from_dict(
    data: Mapping[str, Any],
    source: str = "<dict>",
    *,
    default_name: str | None = None,
    text: str | None = None,
) -> Scenario:
    """Validate a scenario given as a dictionary (the schema and errors of a file).

    ``default_name`` is used when ``data`` has no ``name``; ``text`` is the file's text when
    the dictionary was parsed from one (it is what a run folder keeps).
    """
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{source}: expected a table of scenario fields, got {show(data)}")
    raw = copy.deepcopy(dict(data))
    filled = dict(raw)
    if "name" not in filled and default_name is not None:
        filled["name"] = _folder_name(default_name)
    lines: list[str] = []
    scenario = None
    try:
        scenario = Scenario.model_validate(filled)
    except ValidationError as exc:
        lines += problems(exc.errors(), filled, fields_at)
    specs, policy_lines = _policies(filled.get("policies"))
    lines += policy_lines
    if lines:
        raise ScenarioError(*(f"{source}: {line}" for line in lines))
    name = scenario.name
    if len(name) > MAX_NAME:
        raise ScenarioError(
            f"{source}: name = {show(name)}: expected at most {MAX_NAME} characters"
        )
    scenario._source = source
    scenario._raw = raw
    scenario._text = text if text is not None else _to_toml(raw)
    scenario._specs = specs
    return scenario


def _folder_name(stem: str) -> str:
    """A file stem as a scenario name: characters a folder name allows."""
    from market.scenario.schema import NAME_CHARACTERS

    name = "".join(c if c in NAME_CHARACTERS else "-" for c in stem).lstrip(".") or "scenario"
    return name[:MAX_NAME]


def _policies(tables: Any) -> tuple[tuple[dict, ...], list[str]]:
    """Each ``[[policies]]`` table validated: the specs, and one line per problem."""
    if not isinstance(tables, list):
        return (), []  # absent, or not a list: the schema reports it
    specs, lines, seen = [], [], {}
    for i, table in enumerate(tables):
        try:
            spec = parse_policy(table, index=i).to_spec()
        except ValueError as exc:
            lines.append(one_line(str(exc)))
            continue
        if spec["name"] in seen:
            lines.append(
                f"policies[{i}].name = {show(spec['name'])}: expected a name no other policy has "
                f"(policies[{seen[spec['name']]}] has it)"
            )
        seen.setdefault(spec["name"], i)
        specs.append(spec)
    return tuple(specs), lines


def _to_toml(raw: dict) -> str:
    """The TOML text of a scenario given as a dictionary."""
    from market.scenario.toml import dumps

    return dumps(raw)
