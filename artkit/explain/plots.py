"""Plots of the explain evaluation: ρ per layer and degradation curves."""

from __future__ import annotations

from pathlib import Path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_quality(quality: dict[str, dict[str, float]], path: Path) -> None:
    """ρ of each estimator across the layers, in forward order."""
    plt = _pyplot()
    layers = list(quality)
    fig, ax = plt.subplots(figsize=(max(6, 0.18 * len(layers) + 3), 3.4), dpi=110)
    for name, style in (("S_a+-", "-o"), ("S_a", "-s"), ("S_w", "-^"), ("random", ":x")):
        ax.plot(range(len(layers)), [quality[l][name] for l in layers], style, ms=3, label=name)
    ax.set_xlabel("layer (forward order)")
    ax.set_ylabel("ρ (1 = no signal left in the distractor)")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_degradation(curves, path: Path, title: str = "") -> None:
    """Target output against the number of replaced patches, one line per method."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.6), dpi=110)
    for c in sorted(curves, key=lambda c: -c.aopc):
        ax.plot(c.outputs, ":" if c.method == "random" else "-", label=f"{c.method} (AOPC {c.aopc:.3f})")
    ax.set_xlabel("patches replaced (most relevant first)")
    ax.set_ylabel("target output")
    if title:
        ax.set_title(f"image degradation: {title}", fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
