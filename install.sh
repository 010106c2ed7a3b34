#!/usr/bin/env bash
# Build gitseal from this checkout and install the binary and its man page.
#
#   ./install.sh                     # ~/.local/bin/gitseal, ~/.local/share/man/man1/gitseal.1
#   PREFIX=/usr/local ./install.sh   # /usr/local/bin/gitseal, /usr/local/share/man/man1/gitseal.1
#
# The build goes where cargo puts it: CARGO_TARGET_DIR (or the cargo configuration's
# build.target-dir) when set, else target/ in this checkout.
set -euo pipefail

# Work from the checkout, whatever the caller's cwd is.
cd "$(dirname "${BASH_SOURCE[0]}")"

if ! command -v cargo >/dev/null 2>&1; then
    echo "install.sh: cargo not found; install Rust from https://rustup.rs first" >&2
    exit 1
fi

# The release-cli profile is the release profile with the crates the command line spends
# no time in optimised less (Cargo.toml). `-p gitseal` resolves features for the CLI's own
# dependencies only, not those the controller would add. --locked keeps the build on the
# dependency versions that were tested; a checkout without Cargo.lock cannot use it.
cargo_flags=(--profile release-cli -p gitseal --bin gitseal)
if [[ -f Cargo.lock ]]; then
    cargo_flags+=(--locked)
fi

echo "Building gitseal (cargo build ${cargo_flags[*]})..."
# cargo names the binary it built in its JSON messages on stdout (diagnostics still go
# to the terminal), wherever the target directory is.
messages=$(cargo build "${cargo_flags[@]}" --message-format=json-render-diagnostics)
built=$(printf '%s\n' "$messages" | sed -n 's/.*"executable":"\([^"]*\/gitseal\)".*/\1/p' | tail -n 1)
if [[ -z "$built" || ! -x "$built" ]]; then
    echo "install.sh: cargo did not report the gitseal binary it built" >&2
    exit 1
fi

if [[ -n "${PREFIX:-}" ]]; then
    bindir="$PREFIX/bin"
    mandir="$PREFIX/share/man/man1"
else
    bindir="$HOME/.local/bin"
    mandir="$HOME/.local/share/man/man1"
fi
mkdir -p "$bindir" "$mandir"

# install(1) unlinks the old file before writing the new one, so replacing a
# gitseal that is currently running does not fail with "Text file busy".
install -m 0755 "$built" "$bindir/gitseal"
echo "Installed $bindir/gitseal (built as $built)"

page=$(mktemp)
trap 'rm -f "$page"' EXIT
"$bindir/gitseal" man >"$page"
install -m 0644 "$page" "$mandir/gitseal.1"
echo "Installed $mandir/gitseal.1 (man gitseal)"

# Compare against PATH entries exactly (with ':' guards) to avoid prefix matches.
case ":$PATH:" in
    *":$bindir:"*)
        found=$(command -v gitseal || true)
        if [[ "$found" != "$bindir/gitseal" ]]; then
            echo "warning: 'gitseal' on your PATH is $found, which comes before $bindir/gitseal" >&2
        fi
        ;;
    *)
        # The exact line for the user's login shell, and the file it goes in.
        case "$(basename "${SHELL:-sh}")" in
            bash) rc="$HOME/.bashrc" line="export PATH=\"$bindir:\$PATH\"" ;;
            zsh) rc="${ZDOTDIR:-$HOME}/.zshrc" line="export PATH=\"$bindir:\$PATH\"" ;;
            fish) rc="$HOME/.config/fish/config.fish" line="fish_add_path $bindir" ;;
            *) rc="$HOME/.profile" line="export PATH=\"$bindir:\$PATH\"" ;;
        esac
        cat >&2 <<EOF

$bindir is not on your PATH, so the command 'gitseal' is not found yet.
Add this line to $rc:

    $line

then open a new shell (or run the line in this one). Until then, run $bindir/gitseal.
EOF
        ;;
esac
