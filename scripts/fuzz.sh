#!/usr/bin/env bash
# libFuzzer runs of gitseal's parsers and decoders (the targets in fuzz/).
#
#   scripts/fuzz.sh TARGET SECONDS   run one target for SECONDS
#   scripts/fuzz.sh --all SECONDS    run every target for SECONDS each
#   scripts/fuzz.sh --smoke SECONDS  what scripts/test.sh runs: every target briefly,
#                                    or a clear note (exit 0) where libFuzzer cannot be
#                                    built; a crash fails it
#   scripts/fuzz.sh --list           the targets
#
# cargo-fuzz needs nightly features (sanitizers, coverage instrumentation); a stable
# toolchain provides them with RUSTC_BOOTSTRAP=1, which this script sets for the fuzz
# build only. New inputs libFuzzer finds go to a scratch corpus, never into the
# committed seeds (fuzz/corpus/TARGET); a crash input is kept in fuzz/artifacts/TARGET.
# Crashes worth keeping as regressions belong in fuzz/regressions/TARGET, which
# tests/fuzz_properties.rs replays on every test run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
export RUSTC_BOOTSTRAP=1
# The fuzz build has its own flags (sanitizer, instrumentation): keep it apart from the
# ordinary target directory unless one is given.
export CARGO_TARGET_DIR="${GITSEAL_FUZZ_TARGET_DIR:-$root/fuzz/target}"

targets() {
    sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^gitseal-fuzz$'
}

have_cargo_fuzz() {
    cargo fuzz --version >/dev/null 2>&1
}

ensure_cargo_fuzz() {
    have_cargo_fuzz && return 0
    echo "cargo-fuzz is not installed; installing it (cargo install --locked cargo-fuzz)"
    cargo install --locked cargo-fuzz@0.13.2 >/dev/null 2>&1 && have_cargo_fuzz
}

build() {
    (cd fuzz && cargo fuzz build --release --sanitizer address "$@")
}

run_target() {
    local target=$1 seconds=$2
    local work
    work=$(mktemp -d "${TMPDIR:-/tmp}/gitseal-fuzz-$target.XXXXXX")
    mkdir -p "fuzz/artifacts/$target"
    echo "--- $target: ${seconds}s"
    local log="$work/log"
    local status=0
    # The scratch corpus comes first: libFuzzer adds what it finds there.
    (cd fuzz && cargo fuzz run --release --sanitizer address "$target" "$work" "corpus/$target" -- \
        -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$root/fuzz/artifacts/$target/" -print_final_stats=1) >"$log" 2>&1 || status=$?
    local execs
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if [[ $status -ne 0 ]]; then
        tail -40 "$log"
        echo "$target: FAILED after ${execs:-?} executions (crash input in fuzz/artifacts/$target/)"
    else
        echo "$target: ${execs:-?} executions, no crash"
    fi
    rm -rf "$work"
    return "$status"
}

case "${1:-}" in
    --list)
        targets
        ;;
    --all | --smoke)
        mode=$1
        seconds=${2:?seconds per target}
        if [[ $mode == --smoke ]]; then
            if [[ $seconds == 0 ]]; then
                echo "libFuzzer run skipped (GITSEAL_FUZZ_SECONDS=0)"
                exit 0
            fi
            if ! ensure_cargo_fuzz; then
                echo "libFuzzer run skipped: cargo-fuzz cannot be installed here (the stable harness tests/fuzz_properties.rs runs the same properties in cargo test)"
                exit 0
            fi
            if ! build >/tmp/gitseal-fuzz-build.log 2>&1; then
                tail -20 /tmp/gitseal-fuzz-build.log
                echo "libFuzzer run skipped: the fuzz targets cannot be built with this toolchain (the stable harness tests/fuzz_properties.rs runs the same properties in cargo test)"
                exit 0
            fi
        else
            have_cargo_fuzz || { echo "cargo-fuzz is not installed: cargo install --locked cargo-fuzz" >&2; exit 1; }
            build
        fi
        failed=()
        for t in $(targets); do
            run_target "$t" "$seconds" || failed+=("$t")
        done
        if [[ ${#failed[@]} -gt 0 ]]; then
            echo "fuzz: crashes in ${failed[*]}"
            exit 1
        fi
        echo "fuzz: every target ran ${seconds}s without a crash"
        ;;
    "" | -h | --help)
        sed -n '2,16p' "$0"
        ;;
    *)
        target=$1
        seconds=${2:?seconds}
        targets | grep -qx "$target" || { echo "unknown target $target (scripts/fuzz.sh --list)" >&2; exit 2; }
        have_cargo_fuzz || { echo "cargo-fuzz is not installed: cargo install --locked cargo-fuzz" >&2; exit 1; }
        build "$target"
        run_target "$target" "$seconds"
        ;;
esac
