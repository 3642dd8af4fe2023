"""bench/suite.png from bench/suite.json: each endpoint's p50 (bar) and p95 (whisker) at
every scale, against the hello-world Chalice floor (dashed line), on a log scale.

    .venv-bench/bin/python -m bench.suite.chart [bench/suite.json] [bench/suite.png]

Needs matplotlib, which only the bench venv has (requirements-bench.txt, `make bench`);
it imports nothing of the app.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FLOOR = "hello-world Chalice (floor)"  # bench.suite.report.FLOOR (not imported: no app deps)
COLOURS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52")


def draw(results: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scales = results["scales"]
    names = [n for n in scales[0]["endpoints"] if n != FLOOR]
    height = 0.8 / len(scales)
    fig, ax = plt.subplots(figsize=(10, 0.3 * len(names) * len(scales) + 1.8), dpi=90)
    for index, scale in enumerate(scales):
        found = scale["endpoints"]
        rows = [len(names) - 1 - i + (len(scales) - 1 - index - (len(scales) - 1) / 2) * height
                for i in range(len(names))]  # fmt: skip
        p50 = [found[n]["p50"] for n in names]
        p95 = [found[n]["p95"] for n in names]
        colour = COLOURS[index % len(COLOURS)]
        ax.barh(
            rows,
            p50,
            height=height * 0.9,
            color=colour,
            xerr=[[0] * len(names), [b - a for a, b in zip(p50, p95, strict=True)]],
            error_kw={"ecolor": "#333333", "capsize": 2, "elinewidth": 0.8},
            label=f"{scale['label']} users: p50 (bar), p95 (whisker)",
        )
        for y, value in zip(rows, p50, strict=True):
            ax.text(value * 0.93, y, f"{value:.1f}", va="center", ha="right", fontsize=7,
                    color="white")  # fmt: skip
        floor = found[FLOOR]["p50"]
        ax.axvline(floor, color=colour, linestyle="--", linewidth=1)
        label = f"floor {scale['label']}: {floor * 1000:.0f} µs"
        ax.text(floor * 1.08, len(names) - 0.45 + index * 0.35, label, fontsize=7, color=colour)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(list(reversed(names)), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("ms per request through the Lambda handler (log scale)")
    ax.set_ylim(-0.6, len(names) + 0.2)
    ax.set_title(
        "Shop endpoints vs a hello-world Chalice handler (floor), "
        f"{results['started']} UTC, load {results['load']['before'][0]:.1f}"
        f"-{results['load']['after'][0]:.1f}",
        fontsize=9,
    )
    ax.legend(fontsize=7, loc="upper right")
    ax.grid(axis="x", which="both", linewidth=0.3, alpha=0.5)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench" / "suite.json"
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "bench" / "suite.png"
    draw(json.loads(source.read_text()), out)
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
