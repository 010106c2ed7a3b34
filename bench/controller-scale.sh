#!/usr/bin/env bash
# The controller at scale: N EncryptedSecrets (default 1,000) against the workspace's test
# API server, driven with the real kubectl.
#
#   bash bench/controller-scale.sh
#
# Measures, in this order:
#   apply    `kubectl apply --server-side` of the N objects (one file each) while the
#            controller runs: wall time from the start of the apply until every object
#            is Ready=True, and the apply alone;
#   cold     the controller started with the N objects (and their Secrets) already there:
#            from its start until every object is Ready=True (it re-verifies each one);
#   memory   the controller's peak RSS (VmHWM) over both runs;
#   idle     then IDLE seconds (default 60) without changes: decrypts the controller logged,
#            writes the API server saw (its resourceVersion counter) and Vault calls
#            (gitseal_vault_requests_total) in that time.
#
# With OpenBao (`bao` on PATH, BENCH_VAULT=1, the default when it is there), every object
# also holds a value referencing Vault KV (<path:secret/data/bench/shared#api>, no refresh
# interval), so the figures include resolving it; KV reads are counted per phase.
#
# Environment: BENCH_OBJECTS=N, BENCH_IDLE=SECONDS, BENCH_VAULT=0|1, BENCH_DIR=DIR (scratch,
# default a temporary directory). Markdown goes to stdout, progress to stderr. Needs kubectl
# and python3; builds the three binaries in release mode.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
objects=${BENCH_OBJECTS:-1000}
idle=${BENCH_IDLE:-60}
work=${BENCH_DIR:-$(mktemp -d)}
vault=${BENCH_VAULT:-$(command -v bao >/dev/null && echo 1 || echo 0)}
mkdir -p "$work/objects"

say() { printf '%s\n' "$*" >&2; }
now() { date +%s.%N; }

say "building release binaries"
cargo build --release --locked -q -p gitseal -p gitseal-controller -p gitseal-test-apiserver
bin=${CARGO_TARGET_DIR:-$root/target}/release

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [[ -n "${BENCH_DIR:-}" ]] || rm -rf "$work"
}
trap cleanup EXIT

"$bin/gitseal-test-apiserver" --listen 127.0.0.1:0 --kubeconfig "$work/kubeconfig" >"$work/server.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -s "$work/kubeconfig" ]] && break; sleep 0.1; done
export KUBECONFIG=$work/kubeconfig
server=$(sed -n 's/^ *server: *//p' "$KUBECONFIG" | head -1)

vault_flags=()
if [[ $vault == 1 ]]; then
    bao_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    bao_token=bench-root-$RANDOM$RANDOM
    (cd "$work" && HOME=$work bao server -dev -dev-root-token-id="$bao_token" -dev-listen-address="127.0.0.1:$bao_port" \
        -dev-no-store-token -log-level=warn >"$work/bao.log" 2>&1) &
    pids+=($!)
    export VAULT_ADDR=http://127.0.0.1:$bao_port VAULT_TOKEN=$bao_token
    for _ in $(seq 200); do curl -sf "$VAULT_ADDR/v1/sys/health" >/dev/null 2>&1 && break; sleep 0.1; done
    curl -sf -H "X-Vault-Token: $VAULT_TOKEN" -d '{"data":{"api":"bench-api-value"}}' "$VAULT_ADDR/v1/secret/data/bench/shared" >/dev/null
    vault_flags=(--vault-addr "$VAULT_ADDR" --vault-kv-prefix 'secret/data/{namespace}/')
fi

kubectl apply -f deploy/crd.yaml >/dev/null
kubectl wait --for=condition=Established crd/encryptedsecrets.gitseal.dev --timeout=30s >/dev/null
kubectl create namespace bench >/dev/null
kubectl create namespace gitseal-system >/dev/null
kubectl -n gitseal-system create secret generic gitseal-keys --from-file=demo.agekey=keys-example/demo.agekey >/dev/null

say "sealing $objects EncryptedSecrets for the demo key"
recipient=$(cat keys-example/demo.agekey.pub)
for i in $(seq -w 1 "$objects"); do
    "$bin/gitseal" create generic "token-$i" -n bench --random token:32 --from-literal "user=u$i" \
        ${vault_flags:+--from-literal 'api=<path:secret/data/bench/shared#api>'} \
        --kind EncryptedSecret --age "$recipient" -o "$work/objects/token-$i.yaml" >/dev/null 2>&1
done

# Seconds until every object in namespace bench is Ready=True (polling the API server).
wait_ready() {
    python3 - "$server" "$objects" <<'PY'
import json, sys, time, urllib.request
server, want = sys.argv[1], int(sys.argv[2])
url = server + "/apis/gitseal.dev/v1alpha1/namespaces/bench/encryptedsecrets"
start = time.time()
while True:
    items = json.load(urllib.request.urlopen(url))["items"]
    ready = sum(1 for o in items for c in o.get("status", {}).get("conditions", []) if c.get("type") == "Ready" and c.get("status") == "True")
    if ready >= want:
        break
    if time.time() - start > 600:
        sys.exit(f"only {ready} of {want} Ready after 600 s")
    time.sleep(0.1)
PY
}
resource_version() {
    python3 -c 'import json,sys,urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1] + "/api/v1/namespaces"))["metadata"]["resourceVersion"])' "$server"
}
start_controller() {
    RUST_LOG=gitseal_controller=debug "$bin/gitseal-controller" run --controller-namespace gitseal-system \
        --probe-addr 127.0.0.1:0 --metrics-addr 127.0.0.1:0 "${vault_flags[@]}" >>"$work/controller.log" 2>&1 &
    controller=$!
    pids+=("$controller")
}
peak_rss_kb() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }
decrypts() { grep -c '"decrypting"' "$work/controller.log" || true; }
# Vault calls of the running controller so far (its /metrics), 0 without Vault.
vault_calls() {
    [[ $vault == 1 ]] || { echo 0; return; }
    local addr
    addr=$(grep '"starting"' "$work/controller.log" | tail -1 | sed 's/.*"metrics_addr":"\([^"]*\)".*/\1/')
    curl -s "http://$addr/metrics" | awk '/^gitseal_vault_requests_total/ { n += $2 } END { print n + 0 }'
}

say "apply: $objects objects while the controller runs"
start_controller
sleep 2
t0=$(now)
kubectl apply --server-side -f "$work/objects" >/dev/null
t_applied=$(now)
wait_ready
t_ready=$(now)
rss_apply=$(peak_rss_kb "$controller")
v_apply=$(vault_calls)
kill "$controller"; wait "$controller" 2>/dev/null || true

say "cold: the controller started with $objects objects in place"
# Their status already says Ready, so the end is when it has verified every one again.
d_start=$(decrypts)
t1=$(now)
start_controller
until (( $(decrypts) - d_start >= objects )); do sleep 0.1; done
t_cold=$(now)
sleep 1
rss_cold=$(peak_rss_kb "$controller")
v_cold=$(vault_calls)

say "idle: $idle s"
d0=$(decrypts); rv0=$(resource_version); v0=$(vault_calls)
sleep "$idle"
d1=$(decrypts); rv1=$(resource_version); v1=$(vault_calls)

secs() { python3 -c "print(f'{$2 - $1:.1f}')"; }
cat <<MD
| $objects EncryptedSecrets, test API server, $(nproc) cores | |
|---|---|
| apply (kubectl apply --server-side, one request per object) until all Ready | $(secs "$t0" "$t_ready") s (the apply itself: $(secs "$t0" "$t_applied") s) |
| controller start with all objects present until each is verified and decrypted again | $(secs "$t1" "$t_cold") s |
| controller peak RSS (VmHWM) | $((rss_apply / 1024)) MB during apply, $((rss_cold / 1024)) MB on a cold start |
| decrypts: during the apply, on the cold start, in $idle s idle | $d_start, $((d0 - d_start)), $((d1 - d0)) |
| writes the API server saw in $idle s idle (its resourceVersion $rv0 → $rv1) | $((rv1 - rv0)) |
| Vault KV reads ($( [[ $vault == 1 ]] && echo "each object references one shared path" || echo "no Vault")): during the apply, on the cold start, in $idle s idle | $v_apply, $v_cold, $((v1 - v0)) |
MD
