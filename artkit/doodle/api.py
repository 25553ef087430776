"""``artkit.doodle.transfer``: semantic style transfer, one function for every mode.

Modes, decided by what is given:

* style only → texture synthesis at ``size``;
* style + content → classic (MRF) style transfer;
* style + style map + doodle → doodle to painting (neural-doodle);
* all of them → content-guided doodle.

Two engines: ``"neural"`` (VGG features, patch matching, L-BFGS on the pixels; see
:mod:`artkit.doodle.neural`) and ``"patch"`` (guided PatchMatch synthesis on the pixels; see
:mod:`artkit.doodle.patch`).
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal, Union

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from artkit.core.errors import ArtkitError
from artkit.core.images import load_image, pil_to_tensor
from artkit.core.progress import ProgressCallback, report
from artkit.core.runtime import make_generator, resolve_device
from artkit.doodle.maps import SemanticMaps, onehot, prepare_maps
from artkit.doodle.neural import NeuralSettings, PhaseLog, run_phase
from artkit.doodle.patch import PatchConfig, synthesize

ImageLike = Union[str, Path, Image.Image, torch.Tensor]
MAX_PIXELS = 4096 * 4096
STYLE_PIXELS_PER_OUTPUT = 2.0  # larger style images are scaled down to this ratio


@dataclass
class DoodleConfig:
    """Every setting of ``artkit doodle`` (presets are TOML files of these keys).

    Args:
        engine: ``"neural"`` or ``"patch"``.
        network: VGG weights for the neural engine (``vgg16-hed``, or imported ``vgg19``).
        iterations: L-BFGS steps per phase (neural) — the patch engine ignores it.
        phases: coarse-to-fine resolutions; phase i runs at 1/2^(phases−1−i). The default (1)
            pairs with ``init="auto"``: the patch engine already works coarse to fine, so the
            neural engine refines its result at full size (measured better and faster than 3
            phases from flat colours: label fidelity 0.94 vs 0.69). Use 3 with ``--init mean``
            for neural-doodle's original pipeline.
        style_layers: VGG layers matched by patches (``"3_1"`` means ``relu3_1``).
        content_layers: VGG layers of the content loss.
        style_weight, content_weight, semantic_weight, smoothness, colour_weight, variety:
            the neural objective (see :class:`NeuralSettings`).
        match_every: recompute patch matches every this many steps.
        match_dims: dimensions patches are projected to for matching (0 = exact).
        tolerance: end a phase early when a matching period improves the loss by less than
            this fraction (0 = run all iterations).
        channels_last: run VGG in channels-last memory format (faster on CPU).
        memory_mb: memory budget for one chunk of patch-match scores.
        init: ``"auto"`` (the content photo when given, else the patch engine's result),
            ``"mean"`` (the doodle filled with each region's mean style colour, with soft
            noise), ``"noise"``, ``"content"``, ``"patch"``, or an image path.
        patch_size, uniformity, guidance_weight, em_iterations: the patch engine's settings.
    """

    engine: Literal["neural", "patch"] = "neural"
    network: str = "vgg16-hed"
    iterations: int = 100
    phases: int = 1
    style_layers: list[str] = field(default_factory=lambda: ["3_1", "4_1"])
    content_layers: list[str] = field(default_factory=lambda: ["4_2"])
    style_weight: float = 25.0
    content_weight: float = 10.0
    semantic_weight: float = 10.0
    smoothness: float = 10.0
    colour_weight: float = 30.0
    variety: float = 0.0
    match_every: int = 10
    match_dims: int = 128
    tolerance: float = 0.05
    channels_last: bool = True
    memory_mb: int = 512
    init: str = "auto"
    patch_size: int = 7
    uniformity: float = 1.0
    guidance_weight: float = 2.0
    em_iterations: int = 4

    def validate(self) -> None:
        """Range checks with messages naming the option."""
        checks = [
            (self.engine in ("neural", "patch"), "--engine must be neural or patch"),
            (1 <= self.phases <= 6, "--phases must be between 1 and 6"),
            (self.iterations >= 0, "--iterations must be ≥ 0"),
            (self.match_every >= 1, "match_every must be ≥ 1"),
            (all(w >= 0 for w in (self.style_weight, self.content_weight, self.semantic_weight,
                                  self.smoothness, self.colour_weight, self.variety)),
             "weights must be ≥ 0"),
            (self.patch_size % 2 == 1 and self.patch_size >= 3, "--patch-size must be odd and ≥ 3"),
            (self.memory_mb >= 16, "memory_mb must be ≥ 16"),
        ]
        for ok, message in checks:
            if not ok:
                raise ArtkitError(message)

    def neural(self) -> NeuralSettings:
        """The neural engine's settings: the fields both dataclasses share, layer names expanded."""
        # patch_size means the patch engine's pixel patches here; the neural engine keeps its 3×3.
        shared = ({f.name for f in dataclasses.fields(NeuralSettings)} & set(self.__dict__)) - {"patch_size"}
        values = {name: getattr(self, name) for name in shared}
        values["style_layers"] = tuple(_layer(n) for n in self.style_layers)
        values["content_layers"] = tuple(_layer(n) for n in self.content_layers)
        return NeuralSettings(**values)

    def patch(self) -> PatchConfig:
        # The patch engine's content guidance is on another scale: 10 (the neural default) → 1.
        return PatchConfig(patch_size=self.patch_size, em_iterations=self.em_iterations,
                           guidance_weight=self.guidance_weight, uniformity=self.uniformity,
                           content_weight=self.content_weight / 10.0)


def _layer(name: str) -> str:
    return name if name.startswith(("relu", "conv", "pool")) else f"relu{name}"


@dataclass
class Checkpoint:
    """Where an interrupted run stopped: resume with ``transfer(..., resume=checkpoint)``."""

    image: torch.Tensor  # (1, 3, H, W) at the phase's resolution
    phase: int
    step: int
    config: dict

    def save(self, path: str | Path) -> None:
        from safetensors.torch import save_file

        from artkit.core.files import atomic_path

        meta = {"phase": str(self.phase), "step": str(self.step), "config": json.dumps(self.config)}
        with atomic_path(path) as tmp:
            save_file({"image": self.image.detach().cpu().contiguous()}, str(tmp), metadata=meta)

    @classmethod
    def load(cls, path: str | Path) -> "Checkpoint":
        from safetensors import safe_open

        try:
            with safe_open(str(path), "pt") as f:
                meta = f.metadata() or {}
                image = f.get_tensor("image")
            return cls(image, int(meta["phase"]), int(meta["step"]), json.loads(meta["config"]))
        except Exception:
            raise ArtkitError(f"'{path}' is not an artkit doodle checkpoint",
                              "give the .ckpt.safetensors file written when a run was interrupted") from None


@dataclass
class DoodleResult:
    """What :func:`transfer` returns.

    Args:
        image: (1, 3, H, W) RGB in [0, 1].
        mode: ``"texture"``, ``"style"``, ``"doodle"`` or ``"content-doodle"``.
        phases: per-phase logs (sizes, steps, losses, seconds) of the neural engine.
        seconds: wall time in all.
        notes: adjustments made to the inputs (resizes, colour snapping), for the user.
        maps: the semantic maps used, if any.
        interrupted: True when Ctrl-C stopped the run; ``checkpoint`` then resumes it.
    """

    image: torch.Tensor
    mode: str
    phases: list[PhaseLog] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    maps: SemanticMaps | None = None
    interrupted: bool = False
    checkpoint: Checkpoint | None = None


# ----------------------------------------------------------------------------------- inputs


def _pil(x: ImageLike, what: str, mode: str = "RGB") -> Image.Image:
    if isinstance(x, Image.Image):
        return x
    if isinstance(x, torch.Tensor):
        from artkit.core.images import tensor_to_pil

        return tensor_to_pil(x)
    if isinstance(x, (str, Path)):
        return load_image(x, mode) if mode == "RGB" else _open_map(Path(x), what)
    raise ArtkitError(f"{what}: expected a path, PIL image or tensor, got {type(x).__name__}")


def _open_map(path: Path, what: str) -> Image.Image:
    if not path.exists():
        raise ArtkitError(f"{what} '{path}' does not exist")
    try:
        with Image.open(path) as im:
            im.load()
            return im.copy()
    except Exception:
        raise ArtkitError(f"cannot read {what} '{path}'", "give a PNG map") from None


def default_style_map(style: str | Path) -> Path | None:
    """``<style>_sem.png`` beside a style image, if it exists."""
    p = Path(style)
    candidate = p.with_name(p.stem + "_sem.png")
    return candidate if candidate.exists() else None


def _resize(x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape[2:]) == tuple(hw):
        return x
    return F.interpolate(x, size=hw, mode="bicubic", align_corners=False, antialias=True).clamp(0, 1)


def _scaled(hw: tuple[int, int], factor: float) -> tuple[int, int]:
    return max(1, round(hw[0] * factor)), max(1, round(hw[1] * factor))


# ----------------------------------------------------------------------------------- transfer


def transfer(style: ImageLike, style_map: ImageLike | None = None, target_map: ImageLike | None = None,
             *, content: ImageLike | None = None, size: tuple[int, int] | None = None,
             config: DoodleConfig | None = None, generator: torch.Generator | None = None,
             device: str | torch.device = "cpu", progress: ProgressCallback | None = None,
             on_frame: Callable[[int, int, torch.Tensor], None] | None = None,
             resume: Checkpoint | None = None) -> DoodleResult:
    """Paint in the style of ``style``, following a doodle and/or a content photo.

    Args:
        style: the style painting.
        style_map: its semantic map (needed with ``target_map``).
        target_map: the doodle: a map painted in the style map's region colours.
        content: a photo whose structure the result keeps.
        size: (W, H) of the output; default: the doodle's, else the content's, else the style's.
        config: all settings (:class:`DoodleConfig`).
        generator: source of randomness (``make_generator(seed)``).
        device: where to compute.
        progress: progress callback.
        on_frame: called as ``on_frame(phase, step, image)`` during optimisation.
        resume: a :class:`Checkpoint` from an interrupted run with the same inputs.

    Returns:
        A :class:`DoodleResult`.

    Raises:
        ArtkitError: unreadable inputs, a doodle without a style map, colours that match no
            region, sizes too small for the network or absurdly large.
    """
    cfg = config or DoodleConfig()
    cfg.validate()
    t_start = time.perf_counter()
    dev = resolve_device(device)
    gen = generator or make_generator(0)
    notes: list[str] = []

    style_pil = _pil(style, "style image")
    if target_map is not None and style_map is None:
        raise ArtkitError("a doodle (--map) needs the style image's semantic map (--style-map)",
                          "paint one, or name it <style>_sem.png beside the style image")
    content_pil = _pil(content, "content image") if content is not None else None
    tmap_pil = _pil(target_map, "doodle", "map") if target_map is not None else None
    smap_pil = _pil(style_map, "style map", "map") if style_map is not None else None

    if size is not None:
        out_wh = tuple(int(v) for v in size)
    elif tmap_pil is not None:
        out_wh = tmap_pil.size
    elif content_pil is not None:
        out_wh = content_pil.size
    else:
        out_wh = style_pil.size
    if min(out_wh) < 16 or out_wh[0] * out_wh[1] > MAX_PIXELS:
        raise ArtkitError(f"output size {out_wh[0]}x{out_wh[1]} is out of range",
                          "use a --size between 16x16 and 4096x4096")

    # A style much larger than the output only costs memory: bring it to a sensible scale.
    ratio = (style_pil.size[0] * style_pil.size[1]) / (out_wh[0] * out_wh[1])
    if ratio > STYLE_PIXELS_PER_OUTPUT:
        f = (STYLE_PIXELS_PER_OUTPUT / ratio) ** 0.5
        new = (max(16, round(style_pil.size[0] * f)), max(16, round(style_pil.size[1] * f)))
        notes.append(f"style image scaled from {style_pil.size[0]}x{style_pil.size[1]} to "
                     f"{new[0]}x{new[1]} to fit the output size (memory)")
        style_pil = style_pil.resize(new, Image.Resampling.LANCZOS)

    maps = None
    if smap_pil is not None and tmap_pil is not None:
        maps = prepare_maps(style_pil.size, smap_pil, tmap_pil, out_wh)
        notes += maps.notes
    elif smap_pil is not None:
        notes.append("style map ignored: no doodle (--map) was given")

    mode = {(False, False): "texture", (False, True): "style", (True, False): "doodle",
            (True, True): "content-doodle"}[(maps is not None, content_pil is not None)]
    style_t = pil_to_tensor(style_pil).to(dev)  # (1, 3, Hs, Ws)
    out_hw = (out_wh[1], out_wh[0])
    content_t = _resize(pil_to_tensor(content_pil).to(dev), out_hw) if content_pil is not None else None

    if cfg.engine == "patch":
        image = _patch_engine(style_t, maps, content_t, out_hw, cfg, gen, progress)
        return DoodleResult(image.cpu(), mode, [], time.perf_counter() - t_start, notes, maps)
    return _neural_engine(style_t, maps, content_t, out_hw, cfg, gen, dev, progress, on_frame,
                          resume, notes, mode, t_start)


def _labels(maps: SemanticMaps | None, dev) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    if maps is None:
        return None, None
    return (torch.as_tensor(maps.style_labels, device=dev),
            torch.as_tensor(maps.target_labels, device=dev))


def _patch_engine(style_t, maps, content_t, out_hw, cfg, gen, progress,
                  init: torch.Tensor | None = None) -> torch.Tensor:
    slabels, tlabels = _labels(maps, style_t.device)
    if slabels is None:
        slabels = torch.zeros(style_t.shape[2:], dtype=torch.long, device=style_t.device)
    regions = maps.regions if maps is not None else 1
    pcfg = cfg.patch()
    if content_t is None:
        pcfg = dataclasses.replace(pcfg, content_weight=0.0)
    return synthesize(style_t.cpu(), slabels.cpu(), None if tlabels is None else tlabels.cpu(),
                      regions, out_hw, content=None if content_t is None else content_t.cpu(),
                      init=init, config=pcfg, generator=_cpu_gen(gen), progress=progress)


def _cpu_gen(gen: torch.Generator) -> torch.Generator:
    if gen.device.type == "cpu":
        return gen
    return make_generator(gen.initial_seed(), "cpu")


def _initial(cfg: DoodleConfig, style_t, maps, content_t, out_hw, gen, progress) -> torch.Tensor:
    """The full-resolution start image (resized down for the first phase)."""
    init = cfg.init
    dev = style_t.device
    if init == "auto":
        init = "content" if content_t is not None else "patch"
    if init == "content":
        if content_t is None:
            raise ArtkitError("--init content needs --content")
        return content_t
    if init == "patch":
        return _patch_engine(style_t, maps, content_t, out_hw, cfg, gen, progress).to(dev)
    if init in ("mean", "noise"):
        if maps is not None:
            sl = torch.as_tensor(maps.style_labels, device=dev)
            tl = torch.as_tensor(maps.target_labels, device=dev)
            pal = torch.stack([style_t[0][:, sl == k].mean(1) if (sl == k).any()
                               else style_t[0].mean((1, 2)) for k in range(maps.regions)])
            base = pal[tl].permute(2, 0, 1)[None]  # (1, 3, H, W)
        else:
            base = style_t.mean((2, 3), keepdim=True).expand(1, 3, *out_hw)
        h, w = out_hw
        amp = 0.08 if init == "mean" else 0.5
        small = torch.randn(1, 3, max(1, h // 8), max(1, w // 8), generator=gen, device=gen.device)
        noise = F.interpolate(small.to(dev), size=out_hw, mode="bilinear", align_corners=False)
        if init == "noise":
            noise = noise + torch.randn(1, 3, h, w, generator=gen, device=gen.device).to(dev) * 0.5
        return (base + amp * noise).clamp(0, 1)
    path = Path(init)
    if not path.exists():
        raise ArtkitError(f"--init '{init}' is neither auto/mean/noise/content/patch nor an image file")
    return _resize(pil_to_tensor(load_image(path)).to(dev), out_hw)


def _neural_engine(style_t, maps, content_t, out_hw, cfg, gen, dev, progress, on_frame, resume,
                   notes, mode, t_start) -> DoodleResult:
    from artkit.nets import load_vgg

    vgg = load_vgg(cfg.network, pooling="avg", device=dev)
    settings = cfg.neural()
    style_sem = onehot(maps.style_labels, maps.regions).to(dev) if maps is not None else None
    target_sem = onehot(maps.target_labels, maps.regions).to(dev) if maps is not None else None
    full = None if resume is not None else _initial(cfg, style_t, maps, content_t, out_hw, gen, progress)
    logs: list[PhaseLog] = []
    state = {"image": None, "phase": 0, "step": 0}
    image = None
    first = 0 if resume is None else resume.phase
    try:
        for i in range(first, cfg.phases):
            factor = 0.5 ** (cfg.phases - 1 - i)
            hw = _scaled(out_hw, factor)
            shw = _scaled(tuple(style_t.shape[2:]), factor)
            if resume is not None and i == resume.phase:
                image, start = _resize(resume.image.to(dev), hw), resume.step
            else:
                image, start = _resize(full if image is None else image, hw), 0
            state.update(image=image, phase=i, step=start)

            def on_step(step: int, img: torch.Tensor, _i=i) -> None:
                state.update(image=img.clone(), step=step)
                if on_frame is not None:
                    on_frame(_i, step, img)

            image, log = run_phase(
                vgg, image, _resize(style_t, shw), settings=settings,
                style_semantic=None if style_sem is None else F.interpolate(style_sem, size=shw, mode="area"),
                target_semantic=None if target_sem is None else F.interpolate(target_sem, size=hw, mode="area"),
                content=None if content_t is None else _resize(content_t, hw),
                progress=progress, task=f"phase {i + 1}/{cfg.phases} ({hw[1]}x{hw[0]})",
                on_step=on_step, start_step=start)
            logs.append(log)
    except KeyboardInterrupt:
        current = state["image"] if state["image"] is not None else image
        ckpt = Checkpoint(current.detach().cpu(), state["phase"], state["step"], dataclasses.asdict(cfg))
        return DoodleResult(_resize(current, out_hw).cpu(), mode, logs, time.perf_counter() - t_start,
                            notes, maps, interrupted=True, checkpoint=ckpt)
    return DoodleResult(image.cpu(), mode, logs, time.perf_counter() - t_start, notes, maps)
