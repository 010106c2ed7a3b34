#!/usr/bin/env bash
# Time `gitseal decrypt` on a Secret whose age copy of the data key has N X25519
# recipient stanzas in one age header (the key wrapped by `age -R` for N recipients),
# for N = 1,000 and 5,000 (BENCH_STANZAS overrides). The matching stanza is the last.
# Header parsing must stay linear in N. Measured (release build, busy 2-core machine,
# /usr/bin/time): 0.15 s at 1,000 stanzas, 0.68 s at 5,000; most of it is one X25519
# agreement per stanza tried, which age's anonymous stanzas require.
#
#   bash bench/stanzas.sh
#
# Environment: GITSEAL (default: the release-cli build of ./install.sh, else the release
# build, in $CARGO_TARGET_DIR or ./target, else gitseal on PATH), BENCH_DIR (scratch, default bench/work/stanzas).
# Needs `age` and `age-keygen` (Debian's age) and python3; hyperfine when on PATH,
# else /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
GITSEAL=${GITSEAL:-}
for c in "${CARGO_TARGET_DIR:-./target}/release-cli/gitseal" "${CARGO_TARGET_DIR:-./target}/release/gitseal"; do
    [[ -z $GITSEAL && -x $c ]] && GITSEAL=$c
done
GITSEAL=${GITSEAL:-$(command -v gitseal)}
DIR=${BENCH_DIR:-bench/work/stanzas}
rm -rf "$DIR" && mkdir -p "$DIR"
export HOME=$DIR XDG_CONFIG_HOME=$DIR/.config
unset SOPS_AGE_KEY SOPS_AGE_KEY_FILE SOPS_AGE_KEY_CMD GITSEAL_AGE_KEY_FILE SOPS_AGE_SSH_PRIVATE_KEY_FILE

age-keygen -o "$DIR/key.txt" 2>/dev/null
ME=$(age-keygen -y "$DIR/key.txt")
printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  token: t\n' >"$DIR/s.yaml"
"$GITSEAL" encrypt -i --age "$ME" "$DIR/s.yaml"

for n in ${BENCH_STANZAS:-1000 5000}; do
    : >"$DIR/recipients-$n.txt"
    for _ in $(seq 2 "$n"); do age-keygen 2>/dev/null | age-keygen -y >>"$DIR/recipients-$n.txt"; done
    echo "$ME" >>"$DIR/recipients-$n.txt"
    # The data key, wrapped again for all n recipients, in place of the one-stanza copy.
    python3 - "$DIR" "$n" <<'PY'
import re, subprocess, sys
d, n = sys.argv[1], sys.argv[2]
text = open(f"{d}/s.yaml").read()
m = re.search(r"(\n\s*enc: \|\n)((?:\s+.*\n)+?)(\s*-----END AGE ENCRYPTED FILE-----\n)", text)
indent = re.match(r"\s*", m.group(2)).group(0)
armored = "".join(l.strip() + "\n" for l in (m.group(2) + m.group(3)).splitlines())
key = subprocess.run(["age", "-d", "-i", f"{d}/key.txt"], input=armored.encode(), capture_output=True, check=True).stdout
wrapped = subprocess.run(["age", "-a", "-R", f"{d}/recipients-{n}.txt"], input=key, capture_output=True, check=True).stdout.decode()
block = "".join(indent + l + "\n" for l in wrapped.splitlines())
open(f"{d}/s-{n}.yaml", "w").write(text[: m.start(2)] + block + text[m.end(3):])
PY
    echo "== $n stanzas ($(wc -c <"$DIR/s-$n.yaml") bytes)"
    "$GITSEAL" decrypt --identity "$DIR/key.txt" "$DIR/s-$n.yaml" >/dev/null
    if command -v hyperfine >/dev/null; then
        hyperfine -N --warmup 1 "$GITSEAL decrypt --identity $DIR/key.txt $DIR/s-$n.yaml"
    else
        /usr/bin/time -f "%e s, %M KB peak RSS" "$GITSEAL" decrypt --identity "$DIR/key.txt" "$DIR/s-$n.yaml" >/dev/null
    fi
done
