#!/usr/bin/env bash
# Build gitseal from this checkout and install the binary.
#
#   ./install.sh                 # installs to ~/.local/bin
#   PREFIX=/usr/local ./install.sh   # installs to /usr/local/bin
set -euo pipefail

# Work from the checkout, whatever the caller's cwd is.
cd "$(dirname "${BASH_SOURCE[0]}")"

if ! command -v cargo >/dev/null 2>&1; then
    echo "install.sh: cargo not found; install Rust from https://rustup.rs first" >&2
    exit 1
fi

# --locked keeps the build on the dependency versions that were tested;
# a checkout without Cargo.lock cannot use it.
cargo_flags=(--release)
if [[ -f Cargo.lock ]]; then
    cargo_flags+=(--locked)
fi

echo "Building gitseal (cargo build ${cargo_flags[*]})..."
cargo build "${cargo_flags[@]}"

if [[ -n "${PREFIX:-}" ]]; then
    bindir="$PREFIX/bin"
else
    bindir="$HOME/.local/bin"
fi
mkdir -p "$bindir"

# install(1) unlinks the old file before writing the new one, so replacing a
# gitseal that is currently running does not fail with "Text file busy".
install -m 0755 target/release/gitseal "$bindir/gitseal"
echo "Installed gitseal to $bindir/gitseal"

# Compare against PATH entries exactly (with ':' guards) to avoid prefix matches.
case ":$PATH:" in
    *":$bindir:"*) ;;
    *)
        echo "warning: $bindir is not on your PATH." >&2
        echo "         Add it, e.g.: export PATH=\"$bindir:\$PATH\"" >&2
        ;;
esac
