"""The report as a picture: the confusion matrix beside a reliability diagram.

Both panels are drawn from the cross-validation report (pooled out-of-fold predictions, see
:func:`artkit.classify.report.cross_validate`), so they show how the classifier does on images
it was not fitted on. Rendered with matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

import os
from pathlib import Path

from artkit.core.files import atomic_path


def report_figure(rep: dict):
    """A matplotlib Figure of ``rep``: left the confusion matrix, right the reliability diagram.

    Args:
        rep: a report from :func:`artkit.classify.report.cross_validate` (``confusion``,
            ``ece`` and ``reliability``; without ``reliability`` the right panel says so).
    """
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    labels = rep["confusion"]["labels"]
    matrix = np.asarray(rep["confusion"]["matrix"], dtype=np.int64)  # (K, K)
    k = len(labels)
    side = max(4.0, 0.5 * k + 2.5)
    fig = Figure(figsize=(2 * side + 1.0, side), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)  # the Agg backend, without touching pyplot's global state
    ax_cm, ax_rel = fig.subplots(1, 2)

    # ------------------------------------------------------------ confusion matrix
    ax_cm.imshow(matrix, cmap="Blues", vmin=0, vmax=max(1, int(matrix.max())))
    threshold = matrix.max() / 2 if matrix.size else 0
    for i in range(k):
        for j in range(k):
            ax_cm.text(j, i, str(int(matrix[i, j])), ha="center", va="center",
                       color="white" if matrix[i, j] > threshold else "black")
    tilt = k > 3
    ax_cm.set_xticks(range(k), labels, rotation=45 if tilt else 0, ha="right" if tilt else "center")
    ax_cm.set_yticks(range(k), labels)
    ax_cm.set_xlabel("predicted")
    ax_cm.set_ylabel("true")
    acc = rep.get("accuracy", {}).get("pooled")
    ax_cm.set_title("confusion (out-of-fold)"
                    + (f", accuracy {acc:.3f}" if acc is not None else ""))

    # ------------------------------------------------------------ reliability diagram
    ax_rel.plot([0, 1], [0, 1], "--", color="grey", lw=1, label="perfect calibration")
    bins = rep.get("reliability")
    if bins:
        full = [b for b in bins if b["count"]]
        n = max(1, sum(b["count"] for b in full))
        width = [(b["hi"] - b["lo"]) * (0.3 + 0.7 * b["count"] / max(b2["count"] for b2 in full))
                 for b in full]
        ax_rel.bar([(b["lo"] + b["hi"]) / 2 for b in full], [b["accuracy"] for b in full],
                   width=width, color="tab:blue", alpha=0.35, edgecolor="tab:blue",
                   label="accuracy per bin (width ∝ count)")
        ax_rel.scatter([b["confidence"] for b in full], [b["accuracy"] for b in full],
                       s=[20 + 300 * b["count"] / n for b in full], color="tab:red", zorder=3,
                       label="mean confidence vs accuracy (size ∝ count)")
        for b in full:
            ax_rel.annotate(str(b["count"]), (b["confidence"], b["accuracy"]), fontsize=7,
                            xytext=(4, -10), textcoords="offset points")
    else:
        ax_rel.text(0.5, 0.5, "no reliability data in this report", ha="center", va="center")
    ax_rel.set_xlim(0, 1)
    ax_rel.set_ylim(0, 1.05)
    ax_rel.set_xlabel("confidence (top probability)")
    ax_rel.set_ylabel("accuracy")
    ax_rel.set_aspect("equal")
    ax_rel.legend(loc="upper left", fontsize=7)
    ax_rel.set_title(f"reliability, ECE {rep.get('ece', float('nan')):.3f}")
    return fig


def write_report_png(rep: dict, path: str | os.PathLike, force: bool = False) -> Path:
    """Render :func:`report_figure` of ``rep`` to a PNG at ``path``, atomically.

    Raises:
        ArtkitError: ``path`` exists and ``force`` is false.
    """
    fig = report_figure(rep)
    with atomic_path(path, force) as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)
