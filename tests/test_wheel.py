"""The installable package: build the wheel with the locked setuptools, install it into a clean
venv with only the runtime dependencies (hash-checked, from requirements.lock), and run it.

Catches package data missing from the wheel (simulator scenarios, py.typed), a runtime import of
a test-only package, and a build_info revision that is not the commit the wheel was built from.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from exporter import __version__

REPO_ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 240


def _run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert result.returncode == 0, f"$ {' '.join(argv)}\n{result.stdout}\n{result.stderr}"
    return result


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=30, check=False
    )


def _expected_revision() -> str:
    head = _git("rev-parse", "HEAD")
    assert head.returncode == 0, f"the wheel test needs the git checkout: {head.stderr}"
    dirty = _git("diff", "--quiet", "HEAD", "--").returncode == 1
    return head.stdout.strip() + ("-dirty" if dirty else "")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """(bin directory of the clean venv, a scratch directory outside the source tree, the
    revision of the checkout when the wheel was built)."""
    tmp = tmp_path_factory.mktemp("wheel")
    revision = _expected_revision()
    # Build from a copy of the tree (so no stale build/ leaks in) that still sees the checkout's git.
    src = tmp / "src"
    files = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard").stdout.split("\0")
    for name in filter(None, files):
        origin = REPO_ROOT / name
        if origin.is_file():
            target = src / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(origin.read_bytes())
    git_dir = _git("rev-parse", "--absolute-git-dir").stdout.strip()
    env = {**os.environ, "GIT_DIR": git_dir, "GIT_WORK_TREE": str(REPO_ROOT)}
    env.pop("AUE_BUILD_REVISION", None)
    dist = tmp / "dist"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "--disable-pip-version-check", "--wheel-dir", str(dist), str(src)],
        cwd=tmp,
        env=env,
    )  # fmt: skip
    wheels = list(dist.glob("azure_update_exporter-*.whl"))
    assert len(wheels) == 1, wheels

    runtime = tmp / "runtime.txt"
    lock = _run(
        [sys.executable, str(REPO_ROOT / "scripts" / "runtime-requirements"), "requirements.lock"], REPO_ROOT
    )
    runtime.write_text(lock.stdout, encoding="utf-8")

    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    _run([*pip, "--require-hashes", "--no-deps", "-r", str(runtime)], cwd=tmp)
    _run([*pip, "--no-deps", str(wheels[0])], cwd=tmp)
    _run([str(venv / "bin" / "python"), "-m", "pip", "check"], cwd=tmp)
    return venv / "bin", tmp, revision


def test_only_runtime_dependencies_are_installed(installed: tuple[Path, Path, str]) -> None:
    bindir, tmp, _revision = installed
    freeze = _run([str(bindir / "python"), "-m", "pip", "freeze"], cwd=tmp).stdout.lower()
    for test_only in ("pytest", "mypy", "ruff", "freezegun", "kubernetes-validate", "cloudcoil"):
        assert f"{test_only}==" not in freeze, f"{test_only} is installed next to the wheel"
    assert "azure-update-exporter @ file:" in freeze, freeze


def test_version_carries_the_build_revision(installed: tuple[Path, Path, str]) -> None:
    bindir, tmp, revision = installed
    out = _run([str(bindir / "azure-update-exporter"), "--version"], cwd=tmp).stdout
    assert out.strip() == f"azure-update-exporter {__version__} (revision {revision})"


def test_check_config_accepts_the_documented_example(installed: tuple[Path, Path, str]) -> None:
    bindir, tmp, _revision = installed
    example = REPO_ROOT / "docs" / "config.example.yaml"
    out = _run(
        [str(bindir / "azure-update-exporter"), "check-config", "--config.file", str(example)], cwd=tmp
    )
    assert out.stdout.startswith("config ok: cloud=public"), out.stdout


def test_demo_serves_metrics(installed: tuple[Path, Path, str]) -> None:
    bindir, tmp, revision = installed
    log = tmp / "demo.log"
    with log.open("wb") as sink:
        demo = subprocess.Popen(  # the argv is ours
            [str(bindir / "azure-update-exporter"), "demo", "--web.listen-address", "127.0.0.1:0"],
            cwd=tmp,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        port = None
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline and demo.poll() is None:
            # The exporter logs the port it bound (port 0 picks a free one).
            match = re.search(r"listening address=127\.0\.0\.1:(\d+)", log.read_text(errors="replace"))
            port = int(match.group(1)) if match else None
            time.sleep(0.2)
        assert port, f"demo did not start:\n{log.read_text(errors='replace')}"
        url = f"http://127.0.0.1:{port}"
        while time.monotonic() < deadline and requests.get(f"{url}/readyz", timeout=5).status_code != 200:
            time.sleep(0.2)
        metrics = requests.get(f"{url}/metrics", timeout=10).text
    finally:
        demo.terminate()
        demo.wait(timeout=30)
    assert re.search(rf'azure_update_exporter_build_info{{[^}}]*revision="{re.escape(revision)}"', metrics), [
        line for line in metrics.splitlines() if "build_info" in line
    ]
    # Sources that need the packaged demo scenario (exporter/simulator/scenarios/demo.yaml).
    for source in ("subscriptions", "vmss_os_upgrades", "scheduled_events", "azure_stack_updates"):
        assert f'azure_update_exporter_source_up{{source="{source}"}} 1.0' in metrics, source
