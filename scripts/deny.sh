#!/usr/bin/env bash
# Supply-chain check: `cargo deny` (advisories, licenses, duplicate versions, sources)
# against the offline RustSec snapshot in ../shared/advisory-db. Nothing is fetched.
#
# cargo-deny reads its advisory database as a git repository in a directory named after
# the database URL under its db-path; the snapshot is a plain copy, so it is copied into a
# cache directory and committed there (with the snapshot's date, so that the staleness
# check sees its real age), once per snapshot.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The version the policy was written against; the database directory name below is the
# one this version derives from the URL in deny.toml.
deny_version=0.20.2
db_dir_name=advisory-db-3157b0e258782691

snapshot=${GITSEAL_ADVISORY_SNAPSHOT:-../shared/advisory-db}
if [[ ! -d $snapshot/crates ]]; then
    echo "deny.sh: skipped: no advisory snapshot at $snapshot (../shared is absent)"
    exit 0
fi

if ! cargo deny --version 2>/dev/null | grep -q " $deny_version\$"; then
    echo "deny.sh: installing cargo-deny $deny_version (a few minutes, once)"
    start=$SECONDS
    cargo install --locked "cargo-deny@$deny_version"
    echo "deny.sh: cargo-deny built in $((SECONDS - start))s"
fi

snapshot_id=$(sha256sum "$snapshot/SNAPSHOT" | cut -c1-16)
cache=${GITSEAL_DENY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gitseal/advisory-dbs}
export GITSEAL_ADVISORY_DBS=$cache/$snapshot_id
db=$GITSEAL_ADVISORY_DBS/$db_dir_name
if [[ ! -f $db/.gitseal-snapshot-ready ]]; then
    rm -rf "$GITSEAL_ADVISORY_DBS"
    mkdir -p "$db"
    cp -R "$snapshot/." "$db/"
    # The date in SNAPSHOT ("... (2026-08-21): ..."), else the files' own.
    date=$(grep -o '([0-9]\{4\}-[0-9]\{2\}-[0-9]\{2\})' "$snapshot/SNAPSHOT" | tr -d '()' | head -1)
    date=${date:-$(date -u +%F)}
    (
        cd "$db"
        git init -q
        git add -A
        GIT_AUTHOR_DATE="${date}T00:00:00Z" GIT_COMMITTER_DATE="${date}T00:00:00Z" \
            git -c user.name=gitseal -c user.email=gitseal@localhost -c commit.gpgsign=false commit -q -m "advisory-db snapshot"
    )
    # Marks a complete copy (not git-tracked).
    touch "$db/.gitseal-snapshot-ready"
fi

echo "advisory snapshot: $(head -c 120 "$snapshot/SNAPSHOT")"
cargo deny --offline --locked check --show-stats advisories bans licenses sources
