#!/usr/bin/env bash
# Walkthrough on the demo key: encrypt the example manifests, look at the
# result, extract one value, and let sops itself decrypt a gitseal file.
#
#   bash scripts/demo.sh            # works in a temporary directory, removed afterwards
#   bash scripts/demo.sh DIR        # works in DIR (new or empty) and keeps the files
#   GITSEAL=/path/to/gitseal bash scripts/demo.sh   # shows that binary
#
# The demo key in keys-example/ is public: never use it for real secrets.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

die() {
    echo "demo: error: $*" >&2
    exit 1
}

# The gitseal to show: $GITSEAL when set, else the one on PATH, else the one
# ./install.sh puts in ~/.local/bin by default (which may not be on PATH yet). Never a
# build folder: the demo shows what was installed.
if [[ -n "${GITSEAL:-}" ]]; then
    gitseal=$GITSEAL
    [[ -x "$gitseal" ]] || die "GITSEAL=$gitseal is not an executable file"
    how="from \$GITSEAL"
elif command -v gitseal >/dev/null 2>&1; then
    gitseal=$(command -v gitseal)
    how="found on PATH"
elif [[ -x "$HOME/.local/bin/gitseal" ]]; then
    gitseal="$HOME/.local/bin/gitseal"
    how="installed by ./install.sh; $HOME/.local/bin is not on PATH (install.sh said what to add)"
else
    die "gitseal not found on PATH nor in $HOME/.local/bin: run ./install.sh first (or set GITSEAL=/path/to/gitseal)"
fi

if [[ $# -ge 1 ]]; then
    work=$1
    if [[ -e "$work" ]] && [[ -n "$(ls -A "$work")" ]]; then
        die "$work is not empty; give a new or empty directory"
    fi
    mkdir -p "$work"
    work=$(cd "$work" && pwd)
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/gitseal-demo.XXXXXX")
    trap 'rm -rf "$work"' EXIT
fi

# Layout: the .sops.yaml sits at the top, the manifests in a subdirectory, like
# a GitOps repository. Keeping .sops.yaml out of the encrypted directory also
# keeps it out of reach of its own `.*\.ya?ml$` path_regex.
mkdir -p "$work/secrets"
cp "$root/examples/.sops.yaml" "$work/.sops.yaml"
cp "$root"/examples/*.yaml "$work/secrets/"

# Both gitseal and sops read the identity from here.
export SOPS_AGE_KEY_FILE="$root/keys-example/demo.agekey"
export SOPS_DISABLE_VERSION_CHECK=1

# gitseal and sops look for .sops.yaml by walking up from the current directory.
cd "$work"

# Echo each command before running it; bold only on a terminal.
if [[ -t 1 ]]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
show() { printf '\n%s$ %s%s\n' "$bold" "$*" "$plain"; }

echo "Using $gitseal ($("$gitseal" --version 2>/dev/null || echo 'version unknown'), $how)"
echo "Working in $work"

show "cat .sops.yaml"
cat .sops.yaml

show "gitseal encrypt -i secrets/"
"$gitseal" encrypt -i secrets/

show "cat secrets/flux-receiver-token.yaml"
cat secrets/flux-receiver-token.yaml

show "gitseal decrypt --extract '[\"stringData\"][\"token\"]' secrets/flux-receiver-token.yaml"
"$gitseal" decrypt --extract '["stringData"]["token"]' secrets/flux-receiver-token.yaml
echo

if command -v sops >/dev/null 2>&1; then
    show "sops decrypt secrets/argocd-secret.yaml    # the real sops reads gitseal's output"
    sops decrypt secrets/argocd-secret.yaml
else
    echo
    echo "(sops is not on PATH, so the interop step is skipped; scripts/install-peers.sh installs it)"
fi

if [[ $# -ge 1 ]]; then
    echo
    echo "Encrypted files kept in $work/secrets"
fi
