#!/usr/bin/env python3
"""Mutations of an encrypted file that sops 3.11 accepts and gitseal refuses.

    python3 bench/mutation_vs_sops.py [N]     (default N=300; needs gitseal, sops, age)

Encrypts a two-document Secret with gitseal, derives N mutated files from it
deterministically (single-byte changes anywhere, and the structural moves of the
mutation campaign: comment-typed copies, retyped values, swapped values, dropped
documents, tampered encrypted comments), runs `gitseal decrypt` and `sops decrypt` on
each, and prints how often each tool refuses. Environment: GITSEAL (binary, default
gitseal on PATH), SEED.
"""
import os
import random
import re
import subprocess
import sys
import tempfile

PLAIN = """apiVersion: v1
kind: Secret
metadata:
  name: first
  namespace: prod
stringData:
  # rotated 2026-11
  username: admin
  password: correct-horse
---
apiVersion: v1
kind: Secret
metadata:
  name: second
stringData:
  password: second-password
  token: abcdef
"""

ENC = re.compile(r"ENC\[AES256_GCM,[^\]]*\]")


def run(cmd, env):
    return subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE).returncode


def structural(rng, text):
    values = [m for m in ENC.finditer(text) if not text[: m.start()].endswith("mac: ")]
    kind = rng.randrange(5)
    if kind == 0:  # a value copied into the other document, retyped as a comment
        a = rng.choice(values).group(0)
        typed = a[: a.rfind(",type:")] + ",type:comment]"
        docs = text.split("\n---\n")
        docs[1] = docs[1].replace("stringData:\n", "stringData:\n  password: " + typed + "\n", 1)
        return "comment-typed copy", "\n---\n".join(docs)
    if kind == 1:  # retyped
        m = rng.choice(values)
        ty = rng.choice(["int", "float", "bool", "bytes", "comment"])
        v = m.group(0)
        return "retyped", text[: m.start()] + v[: v.rfind(",type:")] + ",type:" + ty + "]" + text[m.end():]
    if kind == 2:  # two values swapped
        a, b = rng.sample(values, 2)
        if a.start() > b.start():
            a, b = b, a
        return "swapped", text[: a.start()] + b.group(0) + text[a.end(): b.start()] + a.group(0) + text[b.end():]
    if kind == 3:  # a document dropped
        return "document dropped", text.split("\n---\n")[0] + "\n"
    # an encrypted comment with one byte of its ciphertext changed
    at = text.index("#ENC[AES256_GCM,data:") + 22 + rng.randrange(8)
    return "encrypted comment edited", text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1:]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    rng = random.Random(int(os.environ.get("SEED", "1")))
    gitseal = os.environ.get("GITSEAL", "gitseal")
    with tempfile.TemporaryDirectory() as d:
        key = os.path.join(d, "key.txt")
        recipient = subprocess.run([gitseal, "keygen", "-o", key], stdout=subprocess.PIPE, check=True, text=True).stdout.strip()
        env = dict(os.environ, SOPS_AGE_KEY_FILE=key, SOPS_DISABLE_VERSION_CHECK="1")
        plain = os.path.join(d, "plain.yaml")
        with open(plain, "w") as f:
            f.write(PLAIN)
        enc = subprocess.run([gitseal, "encrypt", "--age", recipient, plain], env=env, stdout=subprocess.PIPE, check=True, text=True).stdout
        counts = {}
        for i in range(n):
            if i % 3 == 0:
                kind, text = structural(rng, enc)
            else:
                b = bytearray(enc.encode())
                at = rng.randrange(len(b))
                b[at] = rng.choice(b"AZaz09+/=:,[]{}\"' -#\n")
                kind, text = "single byte", b.decode(errors="replace")
            if text == enc:
                continue
            path = os.path.join(d, "m.yaml")
            with open(path, "w") as f:
                f.write(text)
            g = run([gitseal, "decrypt", path], env) != 0
            s = run(["sops", "decrypt", path], env) != 0
            row = counts.setdefault(kind, [0, 0, 0, 0])
            row[(0 if g else 2) + (0 if s else 1)] += 1
        print("| mutation | both refuse | gitseal refuses, sops accepts | sops refuses, gitseal accepts | both accept |")
        print("|---|---|---|---|---|")
        total = [0, 0, 0, 0]
        for kind, row in sorted(counts.items()):
            print(f"| {kind} | {row[0]} | {row[1]} | {row[2]} | {row[3]} |")
            total = [a + b for a, b in zip(total, row)]
        print(f"| all | {total[0]} | {total[1]} | {total[2]} | {total[3]} |")


if __name__ == "__main__":
    main()
