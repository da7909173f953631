"""The page's scripts and styles, installed where Solara looks for them first.

Solara's page loads its front end (the Vuetify app, RequireJS, Vega for the Altair charts,
KaTeX and Mermaid for Markdown, the grid layout of Mesa's ``SolaraViz``) from a CDN that serves
npm packages, and keeps each file it fetched in its cache folder
(``solara.server.settings.assets.proxy_cache_dir``, ``<venv>/share/solara/cdn``). On a machine
that cannot reach that CDN the page stays blank. ``python -m market.dashboard.assets`` fills
the cache from the npm registry instead (``npm pack``: the CDN's files are those of the npm
packages), once per virtual environment; ``.ci/run`` does it before the browser test.

The packages are read off Solara's own templates and components (``{{cdn}}/<package>@<version>/``),
so an upgrade of Solara asks for the versions it needs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

__all__ = ["cache_dir", "install", "main", "missing", "required"]

#: A CDN path in Solara's templates and components: ``{{cdn}}/katex@0.16.9/dist/...``.
_CDN_PATH = re.compile(
    r"(?:\{\{\s*cdn\s*\}\}|getCdn\(\)\}|\bcdn\})/((?:@[\w.-]+/)?[\w.-]+@[\w.-]+)/"
)
#: Files of Solara that name what the page loads.
_SUFFIXES = (".vue", ".py", ".j2", ".html")
#: How long one ``npm pack`` may take (seconds).
NPM_TIMEOUT = 300


def cache_dir() -> Path:
    """Solara's cache of CDN files (its ``proxy_cache_dir`` setting)."""
    import solara.server.settings as settings

    return Path(settings.assets.proxy_cache_dir)


def required() -> list[str]:
    """The npm packages (``name@version``) Solara's page loads from its CDN."""
    import ipyvue
    import solara
    import solara.server.settings as settings

    root = Path(solara.__file__).parent
    found = set()
    for path in root.rglob("*"):
        if path.suffix in _SUFFIXES and "website" not in path.relative_to(root).parts:
            found.update(_CDN_PATH.findall(path.read_text(errors="ignore")))
    found.add(settings.assets.fontawesome_path.strip("/").split("/")[0])
    # The template loads the Vue 3 app or the Vue 2 app, after ipyvue's major version.
    unused = "solara-vuetify-app@" if ipyvue.__version__.startswith("3") else "vuetify3-app@"
    return sorted(spec for spec in found if unused not in spec)


def missing(specs: list[str] | None = None, cache: Path | None = None) -> list[str]:
    """The packages of ``specs`` (default: :func:`required`) not in the cache yet."""
    cache = cache_dir() if cache is None else cache
    specs = required() if specs is None else specs
    return [spec for spec in specs if not (cache / spec / "package.json").is_file()]


def install(specs: list[str], cache: Path | None = None, npm: str = "npm") -> list[str]:
    """Put each package of ``specs`` into the cache (``npm pack``, then unpacked as the CDN
    serves it: ``<cache>/<name>@<version>/<files>``). Returns the packages installed.

    Raises
    ------
    RuntimeError
        ``npm`` is not found, or cannot fetch a package (the message names it).
    """
    cache = cache_dir() if cache is None else cache
    if shutil.which(npm) is None:
        raise RuntimeError(f"npm not found (needed to fetch {', '.join(specs)})")
    done = []
    for spec in specs:
        with tempfile.TemporaryDirectory() as tmp:
            _unpack(_pack(spec, Path(tmp), npm), cache / spec)
        done.append(spec)
    return done


def _pack(spec: str, folder: Path, npm: str) -> Path:
    """The tarball of ``spec`` from the npm registry, in ``folder``."""
    result = subprocess.run(
        [npm, "pack", spec, "--silent", "--pack-destination", str(folder)],
        capture_output=True,
        text=True,
        timeout=NPM_TIMEOUT,
        check=False,
    )
    tarballs = sorted(folder.glob("*.tgz"))
    if result.returncode != 0 or not tarballs:
        why = " ".join((result.stderr or result.stdout).split())[-300:]
        raise RuntimeError(f"npm pack {spec} failed: {why or f'exit {result.returncode}'}")
    return tarballs[0]


def _unpack(tarball: Path, target: Path) -> None:
    """Unpack an npm tarball (its files under ``package/``) into ``target``, atomically."""
    staging = target.with_name(f".{target.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            name = member.name.split("/", 1)[1] if "/" in member.name else ""
            if not name or not (member.isfile() or member.isdir()):
                continue
            member.name = name
            archive.extract(member, staging, filter="data")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def main() -> int:
    """Install what is missing; print what was done. Exit 0, or 1 when it cannot."""
    cache = cache_dir()
    todo = missing(cache=cache)
    if not todo:
        print(f"dashboard assets: all {len(required())} packages in {cache}")
        return 0
    try:
        for spec in install(todo, cache):
            print(f"dashboard assets: {spec} -> {cache / spec}")
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        print(f"dashboard assets: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
