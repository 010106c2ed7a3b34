#!/usr/bin/env python3
"""Plot how encrypt time and peak memory grow with the number of values.

    python3 bench/plot.py [RESULTS.md] [OUT.png]

Reads the "1 Secret, N values" rows of a report written by bench/run.sh (default
bench/results.md) and draws time and peak RSS against N for each tool on log-log axes,
with slope-1 (linear) and slope-2 (quadratic) guides, so a reader sees at a glance which
tool grows linearly. Writes OUT.png (default docs/benchmarks-growth.png). Needs
matplotlib (pip install matplotlib).
"""

import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROW = re.compile(r"^\| 1 Secret, ([\d,]+) values[^|]*\| (\w+) \| ([^|]+)\| \d+ \| ([\d.]+) MB \|")
TIME = re.compile(r"([\d.]+) (ms|s)\b")
STYLE = {"gitseal": ("tab:green", "o"), "rops": ("tab:blue", "s"), "sops": ("tab:red", "^")}


def seconds(cell):
    m = TIME.search(cell)
    if not m:
        raise ValueError(f"no time in {cell!r}")
    value = float(m.group(1))
    return value / 1000 if m.group(2) == "ms" else value


def read(path):
    points = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = ROW.match(line)
            if m:
                n = int(m.group(1).replace(",", ""))
                points.setdefault(m.group(2), []).append((n, seconds(m.group(3)), float(m.group(4))))
    if not points:
        sys.exit(f"plot.py: no '1 Secret, N values' rows in {path}")
    return {tool: sorted(p) for tool, p in points.items()}


def guides(ax, xs, anchor, color, labelled):
    """Faint slope-1 (dashed) and slope-2 (dotted) lines from a tool's first point."""
    x0, y0 = anchor
    hi = max(xs) * 1.2
    for slope, style, label in ((1, "--", "linear from the first point (×10 → ×10)"), (2, ":", "quadratic from the first point (×10 → ×100)")):
        ax.plot([x0, hi], [y0, y0 * (hi / x0) ** slope], ls=style, color=color, alpha=0.45, lw=1.2, label=label if labelled else None)


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "bench/results.md"
    out = sys.argv[2] if len(sys.argv) > 2 else "docs/benchmarks-growth.png"
    points = read(src)
    fig, (t_ax, m_ax) = plt.subplots(1, 2, figsize=(11, 4.6))
    xs = [n for p in points.values() for n, _, _ in p]
    for tool in sorted(points, key=lambda t: list(STYLE).index(t) if t in STYLE else 9):
        color, marker = STYLE.get(tool, ("black", "x"))
        ns = [n for n, _, _ in points[tool]]
        t_ax.plot(ns, [t for _, t, _ in points[tool]], marker=marker, color=color, lw=2, label=tool)
        m_ax.plot(ns, [m for _, _, m in points[tool]], marker=marker, color=color, lw=2, label=tool)
        for n, t, m in points[tool]:
            t_ax.annotate(f"{t * 1000:.0f} ms" if t < 1 else f"{t:.1f} s", (n, t), textcoords="offset points", xytext=(6, -4), fontsize=8, color=color)
            m_ax.annotate(f"{m:.0f} MB", (n, m), textcoords="offset points", xytext=(6, -4), fontsize=8, color=color)
    # Each tool's own guides: a line that follows the dashed one grows linearly.
    for i, (tool, p) in enumerate(sorted(points.items())):
        color = STYLE.get(tool, ("black", "x"))[0]
        n, t, m = p[0]
        guides(t_ax, xs, (n, t), color, i == 0)
        guides(m_ax, xs, (n, m), color, i == 0)
    for ax, title, unit in ((t_ax, "encrypt time", "wall time (s)"), (m_ax, "peak memory", "peak RSS (MB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("values in one Secret")
        ax.set_ylabel(unit)
        ax.set_title(f"{title} vs number of values (log-log)")
        ax.grid(True, which="both", alpha=0.3)
        ax.set_xlim(min(xs) / 1.5, max(xs) * 3)
        ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
