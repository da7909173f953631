"""Metadata of a run: package versions, the git revision of the source, the platform."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path

__all__ = ["PACKAGES", "git_revision", "package_versions", "python_version"]

#: Packages whose versions go into metadata.json.
PACKAGES = (
    "token-market",
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "pydantic",
    "mesa",
    "simpy",
    "dask",
    "distributed",
)


def git_revision() -> str | None:
    """``git rev-parse HEAD`` of the package's source tree, or None if unavailable."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def package_versions(names=PACKAGES) -> dict[str, str | None]:
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def python_version() -> str:
    return platform.python_version()
