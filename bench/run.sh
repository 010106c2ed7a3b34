#!/usr/bin/env bash
# Benchmark `gitseal encrypt` against `sops encrypt` (3.11) and, when it is on
# PATH, `rops encrypt` (crate rops-cli).
#
#   bash bench/run.sh
#
# Scenarios:
#   small   one small Secret, one process per file
#   many    1,000 Secret files: one `gitseal encrypt -i DIR` call against a
#           shell loop of one `sops encrypt -i` (or rops) process per file
#   10k     one Secret with 10,000 stringData values (~1 MB)
#   100k    one Secret with 100,000 stringData values (~10 MB); with 10k it
#           shows how time grows with input size
#
# Wall time comes from hyperfine (mean ± σ); commands that are measured only
# once are timed by /usr/bin/time. Peak RSS comes from one extra run under
# /usr/bin/time -v. For the shell loops it is the peak of the largest single
# process, not the sum.
#
# Environment:
#   GITSEAL=PATH             gitseal binary (default: the release-cli build that
#                            ./install.sh makes, in CARGO_TARGET_DIR or ./target,
#                            else the release build, else gitseal on PATH)
#   BENCH_DIR=DIR            scratch directory (default: bench/work)
#   BENCH_RESULTS=FILE       markdown output (default: bench/results.md)
#   BENCH_SKIP_SLOW_SOPS=1   skip sops on the 100k-value file (~95 s)
#   BENCH_SLOW_RUNS=N        runs for sops/rops on `many` and `100k` (default 1)
#   BENCH_FILES, BENCH_MEDIUM, BENCH_BIG
#                            input sizes (defaults 1000, 10000, 100000); smaller
#                            values make a quick trial run
#
# The Markdown report goes to stdout and BENCH_RESULTS; progress goes to stderr.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

bench_dir=${BENCH_DIR:-bench/work}
results=${BENCH_RESULTS:-bench/results.md}
slow_runs=${BENCH_SLOW_RUNS:-1}
skip_slow_sops=${BENCH_SKIP_SLOW_SOPS:-0}
files=${BENCH_FILES:-1000}
medium=${BENCH_MEDIUM:-10000}
big=${BENCH_BIG:-100000}

regex='^(data|stringData)$'
recipient=$(cat keys-example/demo.agekey.pub)
# sops otherwise asks GitHub for the latest release on --version.
export SOPS_DISABLE_VERSION_CHECK=1

log() { printf '%s\n' "$*" >&2; }
die() {
    log "bench: error: $*"
    exit 1
}

# --- tools -----------------------------------------------------------------

apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "$1 is missing and apt-get is not available; install it by hand"
    local -a as_root=(env)
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 || die "$1 is missing; need root or sudo to install it"
        as_root=(sudo env)
    fi
    log "bench: installing $1 with apt-get"
    "${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
    hash -r
}

command -v hyperfine >/dev/null 2>&1 || apt_install hyperfine
# The shell keyword `time` cannot report RSS; GNU time (package "time") can.
[[ -x /usr/bin/time ]] || apt_install time
command -v python3 >/dev/null 2>&1 || die "python3 is required (input generator and report)"
command -v sops >/dev/null 2>&1 || die "sops not found: run scripts/install-peers.sh"

if [[ -n "${GITSEAL:-}" ]]; then
    gitseal=$GITSEAL
else
    # What ./install.sh installs (the release-cli profile), else a release build, else PATH.
    target=${CARGO_TARGET_DIR:-$root/target}
    for c in "$target/release-cli/gitseal" "$target/release/gitseal" "$(command -v gitseal || true)"; do
        if [[ -n "$c" && -x "$c" ]]; then
            gitseal=$c
            break
        fi
    done
    [[ -n "${gitseal:-}" ]] || die "gitseal not found: run cargo build --profile release-cli -p gitseal (or set GITSEAL=/path/to/gitseal)"
fi
[[ -x "$gitseal" ]] || die "$gitseal is not executable"

have_rops=0
if command -v rops >/dev/null 2>&1; then
    have_rops=1
else
    log "bench: rops not on PATH: skipped (cargo install rops-cli to include it)"
fi

# --- inputs ----------------------------------------------------------------

mkdir -p "$bench_dir"
work=$(cd "$bench_dir" && pwd)
inputs=$work/inputs
scratch=$work/scratch
json=$work/json
rm -rf "$inputs" "$scratch" "$json"
mkdir -p "$scratch" "$json"

# Every tool looks for its config (.sops.yaml, .rops.toml) upwards from the
# cwd; one found here would change what is encrypted, or make sops fail.
d=$work
while :; do
    for cfg in .sops.yaml .rops.toml; do
        [[ -e "$d/$cfg" ]] && log "bench: warning: $d/$cfg may affect the results"
    done
    [[ "$d" == / ]] && break
    d=$(dirname "$d")
done

log "bench: generating inputs in $inputs"
python3 bench/gen.py all "$inputs" --files "$files" --medium "$medium" --big "$big"

cd "$work"

# Sanity check before timing anything: gitseal's output must be real SOPS
# that sops can decrypt, or the comparison means nothing.
"$gitseal" encrypt --age "$recipient" inputs/small.yaml >scratch/sanity.yaml \
    || die "gitseal encrypt failed on inputs/small.yaml"
grep -q 'ENC\[AES256_GCM' scratch/sanity.yaml || die "gitseal output contains no ENC[...] values"
want=$(awk '$1 == "token:" {print $2}' inputs/small.yaml)
got=$(SOPS_AGE_KEY_FILE=$root/keys-example/demo.agekey \
    sops decrypt --extract '["stringData"]["token"]' scratch/sanity.yaml) \
    || die "sops cannot decrypt gitseal's output"
[[ "$got" == "$want" ]] || die "sops decrypted gitseal's output to a different token"

# --- measurement -----------------------------------------------------------

q() { printf '%q' "$1"; }
G=$(q "$gitseal")
sops_enc="sops encrypt --age $recipient --encrypted-regex '$regex'"
# rops refuses a file argument when its stdin is not a terminal (as under hyperfine),
# so it reads the file from stdin.
rops_enc="rops encrypt --age $recipient --encrypted-regex '$regex' -f yaml"

rows=$work/rows.tsv
: >"$rows"
failures=0

# measure SCENARIO TOOL RUNS SHELL PREPARE CMD
#   RUNS   >1: hyperfine with that many runs; 1: a single timed run.
#   SHELL  "none" for one process (hyperfine -N, no shell overhead), "sh"
#          for loops and anything with a PREPARE step.
#   PREPARE shell command run before every run ("" for none); needs SHELL=sh.
measure() {
    local scenario=$1 tool=$2 runs=$3 shell=$4 prepare=$5 cmd=$6
    local id="$scenario-$tool"
    local -a hf=(hyperfine --style basic --runs "$runs" --export-json "$json/$id.json")
    local mean="" stddev="" rss="" note=""

    log ""
    log "== $scenario / $tool: $cmd"
    if ((runs > 1)); then
        hf+=(--warmup 1)
        if [[ $shell == none ]]; then
            hf+=(-N)
        fi
        if [[ -n $prepare ]]; then
            # Also run it up front: the warmup run needs fresh inputs too.
            bash -c "$prepare"
            hf+=(--prepare "$prepare")
        fi
        if "${hf[@]}" "$cmd" >&2; then
            read -r mean stddev < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(r["mean"], r["stddev"] if r.get("stddev") is not None else "")
' "$json/$id.json")
        else
            note="failed"
        fi
    fi

    # One run under GNU time: peak RSS, and the wall time for single runs.
    if [[ -z $note ]]; then
        if [[ -n $prepare ]]; then
            bash -c "$prepare"
        fi
        local target=$cmd
        if [[ $shell == none ]]; then
            target="exec $cmd"
        fi
        if /usr/bin/time -v -o "$json/$id.time" bash -c "$target" >/dev/null; then
            rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$json/$id.time")
            if ((runs == 1)); then
                mean=$(awk -F': ' '/Elapsed \(wall clock\)/ {
                    n = split($2, p, ":"); s = 0
                    for (i = 1; i <= n; i++) s = s * 60 + p[i]
                    print s }' "$json/$id.time")
            fi
        else
            note="failed"
        fi
    fi

    if [[ $note == failed ]]; then
        failures=$((failures + 1))
        log "bench: $scenario / $tool FAILED"
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "$tool" "$mean" "$stddev" "$runs" "$rss" "$note" >>"$rows"
}

skipped() {
    printf '%s\t%s\t\t\t\t\tskipped: %s\n' "$1" "$2" "$3" >>"$rows"
    log "bench: $1 / $2 skipped ($3)"
}

# 1. One small Secret, one process.
measure small gitseal 20 none "" "$G encrypt --age $recipient inputs/small.yaml"
measure small sops 20 none "" "$sops_enc inputs/small.yaml"
if ((have_rops)); then
    measure small rops 20 sh "" "$rops_enc <inputs/small.yaml"
else
    skipped small rops "not on PATH"
fi

# 2. 1,000 files, encrypted in place: every run starts from fresh plaintext.
fresh="rm -rf scratch/many && cp -R inputs/many scratch/many"
measure many gitseal 5 sh "$fresh" "$G encrypt --age $recipient -i scratch/many"
measure many sops "$slow_runs" sh "$fresh" \
    "for f in scratch/many/*.yaml; do $sops_enc -i \"\$f\" || exit 1; done"
if ((have_rops)); then
    measure many rops "$slow_runs" sh "$fresh" \
        "for f in scratch/many/*.yaml; do $rops_enc <\"\$f\" >\"\$f.tmp\" && mv \"\$f.tmp\" \"\$f\" || exit 1; done"
else
    skipped many rops "not on PATH"
fi

# Scenario names for the value-count files: 10000 -> 10k.
label_for() {
    if (($1 >= 1000 && $1 % 1000 == 0)); then echo "$(($1 / 1000))k"; else echo "$1"; fi
}
medium_label=$(label_for "$medium")
big_label=$(label_for "$big")

# 3. One Secret with many values, to stdout: 10k and 100k show the growth.
for n in "$medium" "$big"; do
    file=inputs/values-$n.yaml
    label=$(label_for "$n")
    if ((n == big)); then tool_runs=$slow_runs; else tool_runs=3; fi
    measure "$label" gitseal 5 none "" "$G encrypt --age $recipient $file"
    if ((n == big)) && [[ $skip_slow_sops == 1 ]]; then
        skipped "$label" sops "BENCH_SKIP_SLOW_SOPS=1"
    else
        measure "$label" sops "$tool_runs" none "" "$sops_enc $file"
    fi
    if ((have_rops)); then
        measure "$label" rops "$tool_runs" sh "" "$rops_enc <$file"
    else
        skipped "$label" rops "not on PATH"
    fi
done

# --- report ----------------------------------------------------------------

cd "$root"

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null || true)
first_line() { "$@" 2>/dev/null | head -1 || true; }

info=$work/info.tsv
{
    printf 'CPU\t%s\n' "${cpu:-unknown}"
    printf 'Cores (nproc)\t%s\n' "$(nproc)"
    printf 'Memory\t%s\n' "${mem:-unknown}"
    printf 'OS\t%s\n' "$(uname -srm)"
    printf 'gitseal\t%s\n' "$(first_line "$gitseal" --version)"
    printf 'sops\t%s\n' "$(first_line sops --version --disable-version-check)"
    printf 'age\t%s\n' "$(first_line age --version)"
    if ((have_rops)); then
        printf 'rops\t%s\n' "rops-cli $(cargo install --list 2>/dev/null | awk '/^rops-cli /{print $2}' | tr -d 'v:')"
    else
        printf 'rops\t%s\n' "not installed (skipped)"
    fi
    printf 'hyperfine\t%s\n' "$(first_line hyperfine --version)"
    printf 'Date\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$info"

python3 - "$rows" "$info" "$files" "$medium" "$big" "$medium_label" "$big_label" \
    "$(stat -c %s "$inputs/values-$medium.yaml")" "$(stat -c %s "$inputs/values-$big.yaml")" \
    >"$work/results.md" <<'PY'
import sys

(rows_path, info_path, files, medium, big, medium_label, big_label,
 medium_bytes, big_bytes) = sys.argv[1:10]

rows = []
with open(rows_path) as f:
    for line in f:
        scenario, tool, mean, stddev, runs, rss, note = line.rstrip("\n").split("\t")
        rows.append(dict(scenario=scenario, tool=tool, note=note, runs=runs,
                         mean=float(mean) if mean else None,
                         stddev=float(stddev) if stddev else None,
                         rss=int(rss) if rss else None))

def fmt_time(s):
    if s is None:
        return ""
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"

def cell_time(r):
    if r["mean"] is None:
        return r["note"] or "n/a"
    t = fmt_time(r["mean"])
    if r["stddev"] is not None:
        t += f" ± {fmt_time(r['stddev'])}"
    return t

def mb(n):
    return f"{int(n) / 1e6:.1f} MB"

scenarios = {
    "small": "1 small Secret (1 process)",
    "many": f"{int(files):,} Secret files (gitseal: 1 process; others: 1 per file)",
    medium_label: f"1 Secret, {int(medium):,} values ({mb(medium_bytes)})",
    big_label: f"1 Secret, {int(big):,} values ({mb(big_bytes)})",
}

gitseal_mean = {r["scenario"]: r["mean"] for r in rows if r["tool"] == "gitseal"}

out = ["# gitseal encrypt benchmark", ""]
out += ["| Machine / version | |", "|---|---|"]
with open(info_path) as f:
    for line in f:
        k, v = line.rstrip("\n").split("\t", 1)
        out.append(f"| {k} | {v} |")
out += ["", "| Scenario | Tool | Wall time (mean ± σ) | Runs | Peak RSS | Time vs gitseal |",
        "|---|---|---|---|---|---|"]
for r in rows:
    base = gitseal_mean.get(r["scenario"])
    rel = ""
    if base and r["mean"] is not None:
        ratio = r["mean"] / base
        rel = f"{ratio:.2f}×" if ratio < 10 else f"{ratio:.0f}×"
    rss = f"{r['rss'] / 1024:.1f} MB" if r["rss"] else ""
    runs = r["runs"] if r["mean"] is not None else ""
    out.append(f"| {scenarios.get(r['scenario'], r['scenario'])} | {r['tool']} | "
               f"{cell_time(r)} | {runs} | {rss} | {rel} |")

# Growth from the 10k to the 100k file: 10x the input; ~10x the time is linear.
growth = []
for tool in ("gitseal", "sops", "rops"):
    m = {r["scenario"]: r["mean"] for r in rows if r["tool"] == tool}
    if m.get(medium_label) and m.get(big_label):
        growth.append(f"{tool} ×{m[big_label] / m[medium_label]:.1f}")
if growth:
    ratio = int(big) // int(medium)
    out += ["", f"Time growth from {medium_label} to {big_label} values ({ratio}× the input): "
            + ", ".join(growth) + "."]

out += ["", "Peak RSS is the largest single process; for the per-file loops that is one "
        "sops/rops process, not the sum. Generated by `bench/run.sh`.", ""]
print("\n".join(out))
PY

cp "$work/results.md" "$results"
cat "$results"
log ""
log "bench: report written to $results"

# The growth plot of docs/benchmarks.md, when matplotlib is there (pip install matplotlib).
if python3 -c 'import matplotlib' 2>/dev/null; then
    python3 bench/plot.py "$results" docs/benchmarks-growth.png >&2
else
    log "bench: matplotlib is not installed, so docs/benchmarks-growth.png is not redrawn"
fi

if ((failures > 0)); then
    die "$failures measurement(s) failed; see the log above"
fi
