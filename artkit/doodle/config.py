"""Every setting of ``artkit doodle``, with its range, in one dataclass.

:class:`DoodleConfig` is what the Python API takes (``config=``), what a preset TOML file holds
(the same keys) and what the command line's options fill. Each field declares its allowed
values with :func:`artkit.core.config.param`; :meth:`DoodleConfig.validate` checks them all in
one pass and names the option (or the preset file and key) that is wrong, so that
``uniformity = -5`` or ``em_iterations = -1`` is refused before any work instead of painting a
flat image.

This module imports no torch: the command line reads its defaults and help texts from here
while ``--help`` stays instant.

Example:
    >>> DoodleConfig(iterations=-1).validate()
    Traceback (most recent call last):
    ...
    artkit.core.errors.ArtkitError: --iterations must be ≥ 0 (got -1)
    >>> DoodleConfig.build(iterations=20).iterations
    20
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from artkit.core.config import Config, param
from artkit.core.errors import ArtkitError

PRESETS = "doodle"  # the presets/ sub-folder of the shipped doodle presets
NETWORKS = ("vgg16-hed", "vgg16", "vgg19")
INITS = ("auto", "mean", "noise", "content", "patch")

# VGG layers by short name ("3_1" = relu3_1); vgg19 has a fourth conv in blocks 3-5.
_VGG16_LAYERS = ("1_1", "1_2", "2_1", "2_2", "3_1", "3_2", "3_3", "4_1", "4_2", "4_3",
                 "5_1", "5_2", "5_3")
_VGG19_EXTRA = ("3_4", "4_4", "5_4")
LAYERS = _VGG16_LAYERS + _VGG19_EXTRA + tuple(f"relu{n}" for n in _VGG16_LAYERS + _VGG19_EXTRA)


def layer_name(name: str) -> str:
    """``"3_1"`` → ``"relu3_1"`` (full names pass through)."""
    return name if name.startswith("relu") else f"relu{name}"


@dataclass
class DoodleConfig(Config):
    """Every setting of ``artkit doodle`` (presets are TOML files of these keys).

    Args:
        engine: ``"neural"`` (VGG features, patch matching, L-BFGS on the pixels; the best
            pictures) or ``"patch"`` (guided PatchMatch on the pixels: real brush strokes, fast).
        network: VGG weights of the neural engine: ``vgg16-hed`` (fetched) or an imported
            ``vgg16`` / ``vgg19``.
        iterations: L-BFGS steps per phase at most (a phase ends earlier once it converges,
            see ``tolerance``).
        phases: coarse-to-fine resolutions; phase i runs at 1/2^(phases−1−i) of the size. The
            default 1 pairs with ``init="auto"``: the patch engine already works coarse to
            fine, and the neural engine refines its result at full size.
        style_layers: VGG layers matched by patches (``"3_1"`` = ``relu3_1``).
        content_layers: VGG layers of the content loss (used with a content photo).
        style_weight: weight of the patch (style) loss.
        content_weight: weight of the content loss.
        semantic_weight: how strongly patches stay in their region when matched.
        smoothness: weight of the smoothness (total variation) term.
        colour_weight: how strongly colours follow the matched style patches.
        variety: penalty on reusing the same style patches (0 = off).
        match_every: recompute the patch matches every this many L-BFGS steps.
        match_dims: dimensions feature patches are projected to for matching (0 = exact).
        tolerance: end a phase once a matching period improves the loss by less than this
            fraction (0 = run every step).
        channels_last: run VGG in channels-last memory format (faster on CPU).
        memory: memory budget in GB for one run (0 = a safe share of the machine's free RAM,
            or of the GPU's free memory); bounds the VGG passes (tiles) and the matching.
        init: start image: ``auto`` (the content photo when given, else the patch engine's
            result), ``mean`` (each region's mean style colour with soft noise), ``noise``,
            ``content``, ``patch``, or an image file.
        patch_size: the patch engine's patch side in pixels (odd).
        uniformity: the patch engine's even-usage term (0 = off).
        guidance_weight: the patch engine's weight of the region channels against colour.
        em_iterations: the patch engine's search-and-vote rounds at the finest level.
    """

    engine: Literal["neural", "patch"] = param(
        "neural", choices=("neural", "patch"),
        help="neural (VGG features, L-BFGS; best) or patch (copies brush strokes; fast)")
    network: str = param("vgg16-hed", choices=NETWORKS,
                         help="VGG weights: vgg16-hed (fetched) or vgg16/vgg19 (imported)")
    iterations: int = param(100, ge=0, le=10_000,
                            help="L-BFGS steps per phase at most (a phase ends early once it converges)")
    phases: int = param(1, ge=1, le=6, help="coarse-to-fine resolutions (3 with --init mean is the original pipeline)")
    style_layers: list[str] = param(factory=lambda: ["3_1", "4_1"], choices=LAYERS,
                                    help="VGG layers matched by patches")
    content_layers: list[str] = param(factory=lambda: ["4_2"], choices=LAYERS,
                                      help="VGG layers of the content loss")
    style_weight: float = param(25.0, ge=0, le=1e6, help="weight of the style (patch) loss")
    content_weight: float = param(10.0, ge=0, le=1e6, help="weight of the content loss")
    semantic_weight: float = param(10.0, ge=0, le=1e4, help="how strongly patches stay in their region")
    smoothness: float = param(10.0, ge=0, le=1e6, help="weight of the smoothness term")
    colour_weight: float = param(30.0, ge=0, le=1e6,
                                 help="how strongly colours follow the matched patches")
    variety: float = param(0.0, ge=0, le=100, help="penalty on reusing the same style patches")
    match_every: int = param(10, ge=1, le=1000, help="recompute patch matches every N steps")
    match_dims: int = param(128, ge=0, le=8192, help="dimensions patches are projected to for matching (0 = exact)")
    tolerance: float = param(0.05, ge=0, lt=1,
                             help="end a phase when N steps improve the loss by less than this fraction (0 = never)")
    channels_last: bool = param(True, help="run VGG in channels-last memory format")
    memory: float = param(0.0, ge=0, le=65536,
                          help="memory budget in GB (0 = a safe share of free RAM or GPU memory)")
    init: str = param("auto", help="start image: auto, mean, noise, content, patch or an image file")
    patch_size: int = param(7, ge=3, le=31, help="the patch engine's patch side (odd)")
    uniformity: float = param(1.0, ge=0, le=100, help="the patch engine's even-usage strength")
    guidance_weight: float = param(2.0, ge=0, le=1000, help="the patch engine's region guidance")
    em_iterations: int = param(4, ge=1, le=100, help="the patch engine's search-and-vote rounds")

    def check(self) -> None:
        """Rules tying fields together (called by :meth:`validate`)."""
        if self.patch_size % 2 == 0:
            raise ArtkitError(f"--patch-size must be odd (got {self.patch_size})")
        if not self.style_layers:
            raise ArtkitError("--style-layers needs at least one layer (e.g. 3_1,4_1)")
        if self.network != "vgg19":
            extra = [n for n in (*self.style_layers, *self.content_layers)
                     if n.removeprefix("relu") in _VGG19_EXTRA]
            if extra:
                raise ArtkitError(f"layer {extra[0]} exists only in vgg19, not {self.network}",
                                  "use --network vgg19 or another layer")
        if self.init not in INITS and not Path(self.init).is_file():
            raise ArtkitError(f"--init '{self.init}' is neither {', '.join(INITS)} nor an image file")

    @classmethod
    def build(cls, preset: str | None = None, kind: str | None = PRESETS,
              **options: Any) -> "DoodleConfig":
        """Defaults ← ``preset`` (a shipped name or a .toml file) ← ``options``; validated."""
        return super().build(preset, kind or PRESETS, **options)

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain values (for manifests and checkpoints)."""
        return dataclasses.asdict(self)

    @classmethod
    def field_help(cls, name: str) -> str:
        """The help text of field ``name`` (the CLI's option help)."""
        return next(f.metadata.get("help", "") for f in dataclasses.fields(cls) if f.name == name)

    @classmethod
    def default(cls, name: str) -> Any:
        """The default value of field ``name``."""
        return getattr(cls(), name)
