"""The picture of ``artkit colorize --explain``: gray input, result, and a heatmap per colour.

One row per attribution method; in each, a panel for all the colour in the picture and one per
colour region, the region outlined in its own colour. Signal methods (PatternNet, the gradient)
are drawn as images of the signal; evidence methods (LRP-ε, PatternAttribution, input ×
gradient) as a red/blue overlay of their channel sum on the gray photo, smoothed by a Gaussian
(:data:`DISPLAY_SIGMA` pixels at a 256-pixel-wide picture), because per-pixel evidence
alternates in sign and what counts is its local sum. Drawing goes through matplotlib's Agg
backend; :func:`artkit.explain.figure_image` turns the figure into a PIL image.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from artkit.core.images import tensor_to_pil
from artkit.explain import SIGNAL_METHODS, figure_image, overlay, signal_image

if TYPE_CHECKING:
    from artkit.color.explain import ColorExplanation

DISPLAY_SIGMA = 3.0  # px at a 256-pixel-wide picture: the heatmaps' smoothing for display
CAPTIONS = {
    "patternnet": "PatternNet: the signal in the gray photo behind each colour",
    "patternattribution": "PatternAttribution (smoothed): red = evidence for the colour, "
                          "blue = against",
}


def smooth(attr: torch.Tensor, sigma: float) -> torch.Tensor:
    """(C, H, W) maps blurred by a Gaussian of ``sigma`` pixels (zero padding), separably."""
    r = max(1, int(round(3 * sigma)))
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-t ** 2 / (2 * sigma ** 2))
    k = k / k.sum()
    x = attr.float()[:, None]  # (C, 1, H, W)
    x = F.conv2d(x, k.view(1, 1, 1, -1), padding=(0, r))
    x = F.conv2d(x, k.view(1, 1, -1, 1), padding=(r, 0))
    return x[:, 0]


def caption(method: str) -> str:
    """The line under the figure's title that says how to read ``method``'s row."""
    return CAPTIONS.get(method, f"{method} (smoothed): red = evidence for the colour, "
                                "blue = against")


def panel(method: str, attr: torch.Tensor, gray: Image.Image) -> Image.Image:
    """One heatmap (3, h, w) drawn as its method is read: signal image, or smoothed evidence."""
    if method in SIGNAL_METHODS:
        return signal_image(attr)
    return overlay(gray, smooth(attr.sum(0, keepdim=True), DISPLAY_SIGMA * gray.width / 256))


def explanation_figure(ex: ColorExplanation) -> Image.Image:
    """The explanation of one photo as one picture (see the module docstring)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    gray = tensor_to_pil(ex.gray)
    region_of = dict(zip(ex.keys[1:], ex.regions))
    cols = 1 + len(ex.keys) + 1
    rows = len(ex.maps)
    row_height = 2.5 * gray.height / gray.width + 0.3
    fig, axes = plt.subplots(rows, cols, figsize=(2.5 * cols, 0.25 * rows + 0.2 + row_height * rows),
                             dpi=110, squeeze=False)
    for row, (method, maps) in enumerate(ex.maps.items()):
        panels = [("gray input", np.asarray(gray), None),
                  ("coloured", np.asarray(tensor_to_pil(ex.result)), None)] if row == 0 else \
            [None, None]
        for key in ex.keys:
            r = region_of.get(key)
            title = "what made it colourful" if r is None else f"{key} ({100 * r.share:.0f} %)"
            panels.append((title if row == 0 else "", np.asarray(panel(method, maps[key], gray)), r))
        for col, (ax, item) in enumerate(zip(axes[row], panels)):
            if item is None:
                ax.axis("off")
                continue
            title, arr, r = item
            ax.imshow(arr, interpolation="bilinear")
            ax.set_title(title, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 2:
                ax.set_ylabel(method, fontsize=8)
            if r is not None:
                colour = tuple(c / 255 for c in r.rgb)
                m = F.interpolate(r.mask[None, None].float(), size=arr.shape[:2],
                                  mode="nearest")[0, 0]
                ax.contour(m.numpy(), levels=[0.5], colors=[colour], linewidths=1.2)
                for spine in ax.spines.values():
                    spine.set_edgecolor(colour)
                    spine.set_linewidth(4)
    fig.suptitle("\n".join(caption(m) for m in ex.maps), fontsize=9)
    return figure_image(fig)
