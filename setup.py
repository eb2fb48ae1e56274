"""Build hooks (everything else is in pyproject.toml): record the source revision in the package.

The wheel and the sdist get `exporter/_build.py` with REVISION from the AUE_BUILD_REVISION
environment variable (image builds without .git: the Dockerfile's REVISION build argument), else
from `git rev-parse HEAD` (with "-dirty" when tracked files differ from it), else from an
`exporter/_build.py` already in the tree (building a wheel from an sdist).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent
GENERATED = Path("exporter") / "_build.py"


def _git(*args: str) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(["git", *args], cwd=HERE, capture_output=True, text=True, check=False)  # noqa: S603,S607
    except OSError:  # no git (a slim image's build stage)
        return None


def revision() -> str | None:
    if value := os.environ.get("AUE_BUILD_REVISION", "").strip():
        return value
    head = _git("rev-parse", "HEAD")
    if head is None or head.returncode != 0 or not head.stdout.strip():
        return None
    diff = _git("diff", "--quiet", "HEAD", "--")
    dirty = diff is not None and diff.returncode == 1
    return head.stdout.strip() + ("-dirty" if dirty else "")


def _write(target_root: Path) -> None:
    value = revision()
    target = target_root / GENERATED
    if value is None:
        existing = HERE / GENERATED
        if existing.is_file() and existing.resolve() != target.resolve():
            target.write_text(existing.read_text(encoding="utf-8"), encoding="utf-8")
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        f'"""Generated at build time by setup.py."""\n\nREVISION = {value!r}\n', encoding="utf-8"
    )


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        if not self.editable_mode:
            _write(Path(self.build_lib))


class Sdist(sdist):
    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        _write(Path(base_dir))


setup(cmdclass={"build_py": BuildPy, "sdist": Sdist})
