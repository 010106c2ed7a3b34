#!/usr/bin/env python3
"""Generate plaintext Kubernetes Secret manifests for the benchmarks.

    gen.py small OUT                      one small Secret
    gen.py many DIR [--files N] [--values M]
                                          N Secret files (default 1000), M stringData values each
    gen.py big OUT N                      one Secret with N stringData values (~100 bytes a line,
                                          so 100,000 values is about 10 MB)
    gen.py all DIR [--big N] [--medium N] everything bench/run.sh needs, under DIR

Output is deterministic (values are derived from hashes of a fixed seed), so
two runs produce identical files and benchmark inputs are reproducible.
Standard library only.
"""

import argparse
import hashlib
import os
import sys

SEED = b"gitseal-bench-v1"


def token(*parts, length=80):
    """A reproducible, random-looking secret value of `length` characters.

    Starts with a letter so that YAML can never read it as a number.
    """
    data = SEED + b"\0" + "\0".join(str(p) for p in parts).encode()
    out = []
    counter = 0
    while sum(len(s) for s in out) < length:
        out.append(hashlib.sha512(data + counter.to_bytes(4, "big")).hexdigest())
        counter += 1
    return "v" + "".join(out)[: length - 1]


def secret(name, namespace, string_data, comment=None):
    """Render one Secret. string_data: list of (key, value) pairs, in order."""
    lines = []
    if comment:
        lines.append(f"# {comment}")
    lines += [
        "apiVersion: v1",
        "kind: Secret",
        "metadata:",
        f"  name: {name}",
        f"  namespace: {namespace}",
        "  labels:",
        "    app.kubernetes.io/part-of: gitseal-bench",
        "type: Opaque",
        "stringData:",
    ]
    lines += [f"  {key}: {value}" for key, value in string_data]
    return "\n".join(lines) + "\n"


def write(path, text):
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def gen_small(out):
    write(
        out,
        secret(
            "webhook-token",
            "flux-system",
            [
                ("token", token("small", "token", length=40)),
                ("username", "bench-user"),
                ("password", token("small", "password", length=32)),
            ],
            comment="Small Secret: one file, one process.",
        ),
    )


def gen_many(directory, files=1000, values=3):
    os.makedirs(directory, exist_ok=True)
    width = max(4, len(str(files)))
    names = ["username", "password", "api-token"]
    for i in range(1, files + 1):
        n = f"{i:0{width}d}"
        pairs = []
        for j in range(values):
            key = names[j] if j < len(names) else f"value-{j + 1}"
            value = f"app-{n}" if key == "username" else token("many", i, j, length=48)
            pairs.append((key, value))
        write(
            os.path.join(directory, f"secret-{n}.yaml"),
            secret(f"app-{n}-credentials", f"team-{(i - 1) % 20 + 1:02d}", pairs),
        )


def gen_big(out, n):
    width = max(6, len(str(n)))
    # 100k values is ~10 MB: small enough to build in memory in one go.
    pairs = [(f"key-{i:0{width}d}", token("big", i)) for i in range(1, n + 1)]
    write(
        out,
        secret(
            f"bulk-{n}",
            "bench",
            pairs,
            comment=f"One Secret with {n} stringData values.",
        ),
    )


def size(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
    return os.path.getsize(path)


def report(path):
    print(f"{path}: {size(path) / 1e6:.2f} MB", file=sys.stderr)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("small", help="one small Secret")
    s.add_argument("out")

    m = sub.add_parser("many", help="a directory of Secret files")
    m.add_argument("dir")
    m.add_argument("--files", type=int, default=1000)
    m.add_argument("--values", type=int, default=3)

    b = sub.add_parser("big", help="one Secret with N stringData values")
    b.add_argument("out")
    b.add_argument("n", type=int)

    a = sub.add_parser("all", help="every input bench/run.sh uses")
    a.add_argument("dir")
    a.add_argument("--files", type=int, default=1000)
    a.add_argument("--medium", type=int, default=10_000)
    a.add_argument("--big", type=int, default=100_000)

    args = p.parse_args(argv)
    for name in ("files", "values", "n", "medium", "big"):
        if getattr(args, name, 1) < 1:
            p.error(f"{name} must be at least 1")

    if args.cmd == "small":
        gen_small(args.out)
        report(args.out)
    elif args.cmd == "many":
        gen_many(args.dir, args.files, args.values)
        report(args.dir)
    elif args.cmd == "big":
        gen_big(args.out, args.n)
        report(args.out)
    else:
        d = args.dir
        gen_small(os.path.join(d, "small.yaml"))
        gen_many(os.path.join(d, "many"), args.files)
        gen_big(os.path.join(d, f"values-{args.medium}.yaml"), args.medium)
        gen_big(os.path.join(d, f"values-{args.big}.yaml"), args.big)
        for f in ("small.yaml", "many", f"values-{args.medium}.yaml", f"values-{args.big}.yaml"):
            report(os.path.join(d, f))


if __name__ == "__main__":
    main()
