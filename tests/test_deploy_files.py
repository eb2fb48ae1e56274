"""The deployment files outside the chart: the systemd unit and the Dockerfile agree with the
exporter and the chart (no container daemon here, so the image build itself is not run; the
wheel test runs the same build and install commands)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from exporter.config import DEFAULT_PORT

REPO_ROOT = Path(__file__).resolve().parents[1]
UNIT = REPO_ROOT / "deploy" / "systemd" / "azure-update-exporter.service"
DOCKERFILE = REPO_ROOT / "Dockerfile"
INSTALLED = "/opt/azure-update-exporter/bin/azure-update-exporter"
ENTRYPOINT = str(Path(sys.executable).with_name("azure-update-exporter"))


def test_systemd_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze not found: scripts/test.sh installs Debian's systemd", pytrace=False)
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text(encoding="utf-8").replace(INSTALLED, ENTRYPOINT), encoding="utf-8")
    result = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    problems = [line for line in (result.stdout + result.stderr).splitlines() if UNIT.name in line]
    assert result.returncode == 0, result.stderr
    assert not problems, "\n".join(problems)


def test_systemd_commands_run_with_the_example_config(tmp_path: Path) -> None:
    text = UNIT.read_text(encoding="utf-8")
    pre = re.search(r"^ExecStartPre=(.+)$", text, re.MULTILINE)
    start = re.search(r"^ExecStart=(.+)$", text, re.MULTILINE)
    assert pre
    assert start
    config = tmp_path / "config.yaml"
    config.write_text(
        (REPO_ROOT / "docs" / "config.example.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    argv = [ENTRYPOINT if a == INSTALLED else a for a in shlex.split(pre.group(1))]
    argv = [str(config) if a == "/etc/azure-update-exporter/config.yaml" else a for a in argv]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert shlex.split(start.group(1))[1:] == [
        "serve",
        "--config.file",
        "/etc/azure-update-exporter/config.yaml",
    ]


def test_dockerfile_matches_the_chart() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    values = yaml.safe_load(
        (REPO_ROOT / "helm" / "azure-update-exporter" / "values.yaml").read_text(encoding="utf-8")
    )
    user = values["podSecurityContext"]["runAsUser"]
    assert re.search(rf"^USER {user}:{values['podSecurityContext']['runAsGroup']}$", text, re.MULTILINE)
    assert re.search(rf"^EXPOSE {DEFAULT_PORT}$", text, re.MULTILINE)
    assert values["service"]["port"] == DEFAULT_PORT
    assert 'ENTRYPOINT ["azure-update-exporter"]' in text
    assert "--require-hashes" in text
    # The chart's pods set it too (tests/helm/test_templates.py): two glibc malloc arenas.
    env = re.search(r"^ENV ((?:.*\\\n)*.*)$", text, re.MULTILINE)
    assert env
    assert "MALLOC_ARENA_MAX=2" in shlex.split(env.group(1).replace("\\\n", " "))
    for script in re.findall(r"scripts/[\w.-]+", text):
        assert (REPO_ROOT / script).is_file(), script
    labels = set(re.findall(r"org\.opencontainers\.image\.(\w+)=", text))
    assert {"title", "source", "version", "revision", "licenses"} <= labels
    assert re.search(r"^ARG VERSION=(.+)$", text, re.MULTILINE).group(1) == _version()  # type: ignore[union-attr]


def _version() -> str:
    from exporter import __version__

    return __version__


# Written on another branch at the same time (i10: --web.config.file); linked from docs/deploy.md
# and the chart README. Drop the entry once that branch is merged.
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _docs() -> list[Path]:
    return sorted(
        [*REPO_ROOT.glob("*.md"), *REPO_ROOT.glob("docs/*.md"), *REPO_ROOT.glob("helm/*/README.md")]
    )


@pytest.mark.parametrize("doc", _docs(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_relative_links_point_at_existing_files(doc: Path) -> None:
    # "No doc refers to a deployment artifact that does not exist": every relative link resolves.
    broken = []
    for target in LINK.findall(doc.read_text(encoding="utf-8")):
        if re.match(r"^[a-z]+:", target):
            continue
        path = (doc.parent / target).resolve()
        if not path.exists():
            broken.append(target)
    assert not broken, f"{doc.relative_to(REPO_ROOT)} links to missing files: {broken}"


def test_deployment_artifacts_named_in_docs_exist() -> None:
    # Paths written as code (`helm/…`, `deploy/…`, `scripts/…`) rather than as links.
    missing = set()
    for doc in _docs():
        for path in re.findall(r"`((?:helm|deploy|scripts|alerts|dashboards)/[\w./*-]+)`", doc.read_text()):
            if "*" in path or "<" in path:
                continue
            if not (REPO_ROOT / path.rstrip("/")).exists():
                missing.add(f"{doc.relative_to(REPO_ROOT)}: {path}")
    assert not missing, sorted(missing)
