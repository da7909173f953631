"""Writing a scenario back as TOML text (``tomli_w``; reading is :mod:`tomllib`)."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["dumps"]


def _plain(value: Any) -> Any:
    """Numbers as TOML writes them (``inf`` as the word ``"unlimited"`` is the scenario's own
    spelling; NaN cannot be written)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and math.isinf(value):
        return "unlimited"
    if hasattr(value, "item"):  # a numpy scalar
        return value.item()
    return value


def dumps(data: dict) -> str:
    """The TOML text of a scenario given as a dictionary."""
    import tomli_w

    return tomli_w.dumps(_plain(data))
