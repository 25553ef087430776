"""The front door of ``artkit.doodle``: :class:`Painter` (holds its VGG) and :func:`transfer`.

Modes, decided by what is given:

* style only → texture synthesis at ``size``;
* style + content → classic (MRF) style transfer;
* style + style map + doodle → doodle to painting (neural-doodle);
* all of them → content-guided doodle.

Two engines: ``"neural"`` (VGG features, patch matching, L-BFGS on the pixels; see
:mod:`artkit.doodle.neural`) and ``"patch"`` (guided PatchMatch synthesis on the pixels; see
:mod:`artkit.doodle.patch`). By default the neural engine starts from the patch engine's
result and refines it at full size.

Example:
    >>> from artkit.doodle import Painter, DoodleConfig
    >>> painter = Painter(device="cpu")                                  # doctest: +SKIP
    >>> result = painter.paint("Monet.jpg", "Monet_sem.png", "doodle.png")  # doctest: +SKIP
    >>> result.image.shape, result.weights                               # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from PIL import Image

from artkit import nets
from artkit.core.artifacts import describe, load_artifact, save_artifact
from artkit.core.errors import ArtkitError
from artkit.core.images import ImageLike, as_image, image_size, load_image, pil_to_tensor
from artkit.core.progress import ProgressCallback
from artkit.core.provenance import record_all, recording
from artkit.core.result import Result, Timer
from artkit.core.runtime import default_generator, make_generator, resolve_device
from artkit.doodle.config import DoodleConfig, layer_name
from artkit.doodle.maps import SemanticMaps, onehot, prepare_maps
from artkit.doodle.neural import NeuralSettings, PhaseLog, run_phase
from artkit.doodle.patch import PatchConfig, synthesize
from artkit.doodle.scale import MemoryPlan, TilePlan, budget_bytes, plan_memory

MAX_SIDE = 4096                # the largest output side
MIN_SIDE = 16
STYLE_PIXELS_PER_OUTPUT = 2.0  # larger style images are scaled down to this ratio
CHECKPOINT_KIND = "doodle-checkpoint"
describe(CHECKPOINT_KIND, "doodle checkpoint",
         "give the .ckpt.safetensors file an interrupted `artkit doodle` run wrote")


# ----------------------------------------------------------------------------------- results


@dataclass
class Checkpoint:
    """Where an interrupted run stopped: resume with ``paint(..., resume=checkpoint)``.

    Args:
        image: (1, 3, h, w) the image at the phase's resolution.
        phase: the phase that was running (0-based); step: its steps done.
        phases: the run's number of phases; size: its output (H, W).
        fingerprint: sha256 of the run's style, maps and content (checked on resume).
        config: the run's settings.
    """

    image: torch.Tensor
    phase: int
    step: int
    phases: int = 1
    size: tuple[int, int] = (0, 0)
    fingerprint: str = ""
    config: dict = field(default_factory=dict)

    def save(self, path: str | os.PathLike, force: bool = True) -> Path:
        """Write the checkpoint (a safetensors artifact of kind ``doodle-checkpoint``)."""
        meta = {"phase": self.phase, "step": self.step, "phases": self.phases,
                "size": list(self.size), "fingerprint": self.fingerprint, "config": self.config}
        return save_artifact(path, {"image": self.image.detach().float().cpu().contiguous()},
                             kind=CHECKPOINT_KIND, meta=meta, force=force)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Checkpoint":
        """Read a checkpoint, checking that it is one and holds together.

        Raises:
            ArtkitError: missing, another kind of file, damaged (a malformed tensor or field).
        """
        art = load_artifact(path, CHECKPOINT_KIND, name=f"checkpoint:{Path(path).name}")
        phase, step, phases = (art.field(k, int) for k in ("phase", "step", "phases"))
        size = art.field("size", list)
        if not (0 <= phase < phases <= 6 and step >= 0 and len(size) == 2
                and all(isinstance(v, int) and v > 0 for v in size)):
            raise art.damaged(f"phase {phase} of {phases}, step {step}, size {size} make no sense")
        image = art.tensor("image", shape=(1, 3, None, None))
        return cls(image, phase, step, phases, (size[0], size[1]),
                   str(art.field("fingerprint", str)), dict(art.field("config", dict)))

    def check(self, *, phases: int, iterations: int, size: tuple[int, int], fingerprint: str,
              sizes: list[tuple[int, int]], where: str = "the checkpoint") -> None:
        """Refuse a checkpoint that does not belong to this run (one line saying why).

        Args:
            sizes: the (H, W) of each of this run's phases.
        """
        hint = "resume with the inputs and settings of the interrupted run, or start again without --resume"
        if self.phases != phases:
            raise ArtkitError(f"{where} is from a run with {self.phases} phase(s); this run has "
                              f"{phases}", f"use --phases {self.phases}, or start again without --resume")
        if tuple(self.size) != tuple(size):
            raise ArtkitError(f"{where} is from a {self.size[1]}x{self.size[0]} painting; this run "
                              f"paints {size[1]}x{size[0]}", hint)
        if self.fingerprint and self.fingerprint != fingerprint:
            raise ArtkitError(f"{where} is from a run with another style, map or content image", hint)
        phase_size = sizes[self.phase]
        if tuple(self.image.shape[2:]) != tuple(phase_size):
            raise ArtkitError(f"{where} holds a {self.image.shape[3]}x{self.image.shape[2]} image; "
                              f"phase {self.phase + 1} paints {phase_size[1]}x{phase_size[0]}", hint)
        if self.step > iterations:
            raise ArtkitError(f"{where} stopped at step {self.step}, past this run's "
                              f"{iterations} iterations", f"use --iterations {self.step} or more")


@dataclass(kw_only=True)
class DoodleResult(Result):
    """What :meth:`Painter.paint` returns.

    Args:
        image: (1, 3, H, W) RGB in [0, 1].
        mode: ``"texture"``, ``"style"``, ``"doodle"`` or ``"content-doodle"``.
        phases: per-phase logs (sizes, steps, losses, seconds) of the neural engine.
        maps: the semantic maps used, if any.
        interrupted: True when Ctrl-C stopped the run; ``checkpoint`` then resumes it.
        memory: the memory plan the run followed (tiles, budget), for the neural engine.
    """

    image: torch.Tensor
    mode: str
    phases: list[PhaseLog] = field(default_factory=list)
    maps: SemanticMaps | None = None
    interrupted: bool = False
    checkpoint: Checkpoint | None = None
    memory: MemoryPlan | None = None

    def to_dict(self) -> dict:
        """The figures of the run (not the pixels), JSON-ready."""
        return {"mode": self.mode, "size": list(self.image.shape[2:]), "seconds": self.seconds,
                "notes": list(self.notes), "weights": dict(self.weights),
                "interrupted": self.interrupted,
                "phases": [dataclasses.asdict(p) for p in self.phases],
                "memory": None if self.memory is None else dataclasses.asdict(self.memory)}


# ----------------------------------------------------------------------------------- inputs


@dataclass
class Inputs:
    """The inputs of one painting, loaded, scaled and checked."""

    style: torch.Tensor               # (1, 3, Hs, Ws)
    maps: SemanticMaps | None
    content: torch.Tensor | None      # (1, 3, H, W)
    size: tuple[int, int]             # (H, W) of the output
    mode: str
    notes: list[str]

    def fingerprint(self) -> str:
        """sha256 over the pixels and labels a run depends on (for checkpoints)."""
        h = hashlib.sha256(repr(self.size).encode())
        for t in (self.style, self.content):
            if t is not None:
                h.update(t.detach().float().cpu().numpy().tobytes())
        if self.maps is not None:
            h.update(self.maps.style_labels.tobytes())
            h.update(self.maps.target_labels.tobytes())
        return h.hexdigest()


def output_size(style: ImageLike, target_map: ImageLike | None, content: ImageLike | None,
                size: tuple[int, int] | None) -> tuple[int, int]:
    """(W, H) of the output: ``size``, else the doodle's, the content's or the style's size
    (read from file headers, nothing decoded).

    Raises:
        ArtkitError: a size outside 16–4096 px a side.
    """
    if size is not None:
        wh = (int(size[0]), int(size[1]))
    else:
        wh = input_size(next(x for x in (target_map, content, style) if x is not None))
    if min(wh) < MIN_SIDE or max(wh) > MAX_SIDE:
        raise ArtkitError(f"output size {wh[0]}x{wh[1]} is out of range",
                          f"use a --size between {MIN_SIDE}x{MIN_SIDE} and {MAX_SIDE}x{MAX_SIDE}")
    return wh


def input_size(x: ImageLike) -> tuple[int, int]:
    """(W, H) of an image input: from a file's header (nothing decoded), a PIL image, an
    (H, W[, C]) array or a (.., H, W) tensor."""
    if isinstance(x, (str, os.PathLike)):
        return image_size(x)
    if isinstance(x, Image.Image):
        return x.size
    shape = tuple(x.shape)
    return (shape[-1], shape[-2]) if isinstance(x, torch.Tensor) else (shape[1], shape[0])


def style_size(style_wh: tuple[int, int], out_wh: tuple[int, int]) -> tuple[int, int]:
    """(W, H) the style is used at: its own, or smaller when it has more than
    ``STYLE_PIXELS_PER_OUTPUT`` times the output's pixels (it would only cost memory)."""
    ratio = style_wh[0] * style_wh[1] / (out_wh[0] * out_wh[1])
    if ratio <= STYLE_PIXELS_PER_OUTPUT:
        return style_wh
    f = (STYLE_PIXELS_PER_OUTPUT / ratio) ** 0.5
    return max(MIN_SIDE, round(style_wh[0] * f)), max(MIN_SIDE, round(style_wh[1] * f))


def load_inputs(style: ImageLike, style_map: ImageLike | None, target_map: ImageLike | None,
                content: ImageLike | None, size: tuple[int, int] | None) -> Inputs:
    """Load, scale and check the inputs (see :meth:`Painter.paint` for their meaning).

    Raises:
        ArtkitError: unreadable images, a doodle without a style map, colours of no region,
            sizes out of range.
    """
    if target_map is not None and style_map is None:
        raise ArtkitError("a doodle (--map) needs the style image's semantic map (--style-map)",
                          "paint one, or name it <style>_sem.png beside the style image")
    out_wh = output_size(style, target_map, content, size)
    style_pil = as_image(style, "RGB", "style painting")
    notes: list[str] = []
    wh = style_size(style_pil.size, out_wh)
    if wh != style_pil.size:
        notes.append(f"style image scaled from {style_pil.size[0]}x{style_pil.size[1]} to "
                     f"{wh[0]}x{wh[1]} to fit the output size (memory)")
        style_pil = style_pil.resize(wh, Image.Resampling.LANCZOS)
    maps = None
    if style_map is not None and target_map is not None:
        maps = prepare_maps(style_pil.size, as_image(style_map, "RGBA", "style map"),
                            as_image(target_map, "RGBA", "doodle"), out_wh)
        notes += maps.notes
    elif style_map is not None:
        notes.append("style map ignored: no doodle (--map) was given")
    out_hw = (out_wh[1], out_wh[0])
    content_t = None
    if content is not None:
        content_t = _resize(pil_to_tensor(as_image(content, "RGB", "content photo")), out_hw)
    mode = {(False, False): "texture", (False, True): "style", (True, False): "doodle",
            (True, True): "content-doodle"}[(maps is not None, content_t is not None)]
    return Inputs(pil_to_tensor(style_pil), maps, content_t, out_hw, mode, notes)


def _resize(x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape[2:]) == tuple(hw):
        return x
    return F.interpolate(x, size=hw, mode="bicubic", align_corners=False, antialias=True).clamp(0, 1)


def _scaled(hw: tuple[int, int], factor: float) -> tuple[int, int]:
    return max(1, round(hw[0] * factor)), max(1, round(hw[1] * factor))


def plan_run(out_wh: tuple[int, int], style_wh: tuple[int, int], config: DoodleConfig,
             device: str | torch.device = "cpu", content: bool = False) -> MemoryPlan:
    """The memory plan of a painting of ``out_wh`` (W, H) from a style of ``style_wh``, or the
    error that it does not fit — before any work (read the sizes from the files' headers).

    Raises:
        ArtkitError: the run would not fit in the budget; the message names a size that does.
    """
    dev = resolve_device(device)
    hw, shw = (out_wh[1], out_wh[0]), tuple(reversed(style_size(style_wh, out_wh)))
    layers = [layer_name(n) for n in (*config.style_layers, *config.content_layers)]
    plan = TilePlan.create(nets.layer_names("vgg19" if config.network == "vgg19" else "vgg16"), layers)
    patch_init = config.init == "patch" or (config.init == "auto" and not content)
    return plan_memory(hw, shw, budget_bytes(config.memory, dev), halo=plan.halo, align=plan.align,
                       patch_init=patch_init, neural=config.engine == "neural")


# ----------------------------------------------------------------------------------- painter


class Painter:
    """Paints doodles; holds its VGG network(s), loaded once per (network, device).

    Args:
        network: the VGG weights to load now (``"vgg16-hed"``, ``"vgg16"``, ``"vgg19"``), or
            ``None`` to load none (the patch engine needs no network; the neural engine loads
            the network its config names on first use, once).
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a ``torch.device``.

    Attributes:
        device: where it computes.
        weights: ``{name: sha256}`` of the networks loaded.
    """

    def __init__(self, network: str | None = "vgg16-hed", *, device: str | torch.device = "auto"):
        self.device = resolve_device(device)
        self.weights: dict[str, str] = {}
        self._vggs: dict[str, torch.nn.Module] = {}
        if network is not None:
            self.vgg(network)

    def vgg(self, network: str) -> torch.nn.Module:
        """The VGG feature network ``network`` on this painter's device (loaded once)."""
        if network not in self._vggs:
            with recording() as used:
                vgg = nets.load_vgg(network, pooling="avg", device=self.device)
            # weights in channels-last too: oneDNN then skips a reorder per convolution (~7 %)
            self._vggs[network] = vgg.to(memory_format=torch.channels_last)
            sha = used.get(network)
            if sha:
                self.weights[network] = sha
        return self._vggs[network]

    def paint(self, style: ImageLike, style_map: ImageLike | None = None,
              target_map: ImageLike | None = None, *, content: ImageLike | None = None,
              size: tuple[int, int] | None = None, config: DoodleConfig | None = None,
              generator: torch.Generator | None = None, progress: ProgressCallback | None = None,
              on_frame: Callable[[int, int, torch.Tensor], None] | None = None,
              resume: Checkpoint | None = None) -> DoodleResult:
        """Paint in the style of ``style``, following a doodle and/or a content photo.

        Args:
            style: the style painting (a path, PIL image, array or tensor).
            style_map: its semantic map (needed with ``target_map``).
            target_map: the doodle: a map painted in the style map's region colours.
            content: a photo whose structure the result keeps.
            size: (W, H) of the output; default: the doodle's, else the content's, else the
                style's size.
            config: all settings (:class:`DoodleConfig`), validated here.
            generator: the source of randomness (``None``: a CPU generator seeded with 0).
            progress: progress callback.
            on_frame: called as ``on_frame(phase, step, image)`` during optimisation.
            resume: a :class:`Checkpoint` from an interrupted run with the same inputs.

        Returns:
            A :class:`DoodleResult`; when Ctrl-C interrupted the neural engine, the current
            image with ``interrupted=True`` and a ``checkpoint``.

        Raises:
            ArtkitError: unreadable inputs, a doodle without a style map, a doodle region the
                style map lacks, sizes too small for the network or too large for the memory
                budget, a checkpoint from another run.
        """
        cfg = config or DoodleConfig()
        cfg.validate()
        gen = default_generator(generator)
        with Timer() as timer, _deterministic(self.device):
            inputs = load_inputs(style, style_map, target_map, content, size)
            memory = plan_run((inputs.size[1], inputs.size[0]),
                              (inputs.style.shape[3], inputs.style.shape[2]), cfg, self.device,
                              content=inputs.content is not None)
            if cfg.engine == "patch":
                image = self._patch(inputs, cfg, gen, progress)
                result = DoodleResult(image=image.cpu(), mode=inputs.mode, notes=inputs.notes,
                                      maps=inputs.maps, memory=memory)
            else:
                result = self._neural(inputs, cfg, memory, gen, progress, on_frame, resume)
        result.seconds = timer.seconds
        record_all(result.weights)
        return result

    # ---- engines

    def _patch(self, inputs: Inputs, cfg: DoodleConfig, gen: torch.Generator,
               progress: ProgressCallback | None, init: torch.Tensor | None = None) -> torch.Tensor:
        maps = inputs.maps
        if maps is not None:
            slabels = torch.as_tensor(maps.style_labels)
            tlabels = torch.as_tensor(maps.target_labels)
        else:
            slabels, tlabels = torch.zeros(inputs.style.shape[2:], dtype=torch.long), None
        pcfg = PatchConfig(patch_size=cfg.patch_size, em_iterations=cfg.em_iterations,
                           guidance_weight=cfg.guidance_weight, uniformity=cfg.uniformity,
                           # the patch engine's content guidance is on another scale: 10 → 1
                           content_weight=cfg.content_weight / 10.0 if inputs.content is not None else 0.0)
        return synthesize(inputs.style, slabels, tlabels, maps.regions if maps else 1, inputs.size,
                          content=inputs.content, init=init, config=pcfg,
                          generator=_cpu_generator(gen), progress=progress)

    def _initial(self, inputs: Inputs, cfg: DoodleConfig, gen: torch.Generator,
                 progress: ProgressCallback | None) -> torch.Tensor:
        """The full-resolution start image (resized down for the first phase)."""
        init = cfg.init
        if init == "auto":
            init = "content" if inputs.content is not None else "patch"
        if init == "content":
            if inputs.content is None:
                raise ArtkitError("--init content needs --content")
            return inputs.content
        if init == "patch":
            return self._patch(inputs, cfg, gen, progress)
        if init in ("mean", "noise"):
            return _noisy_fill(inputs, init, gen)
        return _resize(pil_to_tensor(load_image(init)), inputs.size)

    def _neural(self, inputs: Inputs, cfg: DoodleConfig, memory: MemoryPlan, gen: torch.Generator,
                progress: ProgressCallback | None, on_frame, resume: Checkpoint | None) -> DoodleResult:
        dev = self.device
        out_hw = inputs.size
        vgg = self.vgg(cfg.network)
        settings = neural_settings(cfg, memory)
        plan = TilePlan.create(vgg.layer_names, [*settings.style_layers, *settings.content_layers],
                               memory.tile)
        notes = list(inputs.notes)
        if memory.tile:
            notes.append(memory.describe(out_hw))
        sizes = [_scaled(out_hw, 0.5 ** (cfg.phases - 1 - i)) for i in range(cfg.phases)]
        if resume is not None:
            resume.check(phases=cfg.phases, iterations=cfg.iterations, size=out_hw,
                         fingerprint=inputs.fingerprint(), sizes=sizes)
        maps = inputs.maps
        style_sem = onehot(maps.style_labels, maps.regions).to(dev) if maps is not None else None
        target_sem = onehot(maps.target_labels, maps.regions).to(dev) if maps is not None else None
        style_t = inputs.style.to(dev)
        content_t = None if inputs.content is None else inputs.content.to(dev)
        full = None if resume is not None else self._initial(inputs, cfg, gen, progress).to(dev)
        logs: list[PhaseLog] = []
        state = {"image": None, "phase": 0, "step": 0}
        image = None
        try:
            for i in range(0 if resume is None else resume.phase, cfg.phases):
                hw = sizes[i]
                shw = _scaled(tuple(style_t.shape[2:]), 0.5 ** (cfg.phases - 1 - i))
                if resume is not None and i == resume.phase:
                    image, start = resume.image.to(dev), resume.step
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
                    content=None if content_t is None else _resize(content_t, hw), plan=plan,
                    generator=gen, progress=progress,
                    task=f"phase {i + 1}/{cfg.phases} ({hw[1]}x{hw[0]})", on_step=on_step,
                    start_step=start)
                logs.append(log)
        except KeyboardInterrupt:
            current = state["image"] if state["image"] is not None else image
            ckpt = Checkpoint(current.detach().cpu(), state["phase"], state["step"], cfg.phases,
                              out_hw, inputs.fingerprint(), cfg.to_dict())
            return DoodleResult(image=_resize(current, out_hw).cpu(), mode=inputs.mode,
                                phases=logs, notes=notes, maps=maps, interrupted=True,
                                checkpoint=ckpt, memory=memory, weights=self._used(cfg))
        return DoodleResult(image=image.cpu(), mode=inputs.mode, phases=logs, notes=notes,
                            maps=maps, memory=memory, weights=self._used(cfg))

    def _used(self, cfg: DoodleConfig) -> dict[str, str]:
        return {cfg.network: self.weights[cfg.network]} if cfg.network in self.weights else {}


def _deterministic(device: torch.device):
    """On CUDA: cuDNN's deterministic algorithms, no autotuning (restored afterwards), so two
    runs give the same pixels. Nothing to do on the CPU."""
    if device.type != "cuda":
        return contextlib.nullcontext()
    return torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True)


def neural_settings(cfg: DoodleConfig, memory: MemoryPlan | None = None) -> NeuralSettings:
    """The neural engine's settings from a :class:`DoodleConfig` (and a memory plan)."""
    shared = {f.name for f in dataclasses.fields(NeuralSettings)} & {f.name for f in dataclasses.fields(cfg)}
    values = {name: getattr(cfg, name) for name in shared - {"patch_size"}}  # the patch engine's
    values["style_layers"] = tuple(layer_name(n) for n in cfg.style_layers)
    values["content_layers"] = tuple(layer_name(n) for n in cfg.content_layers)
    if memory is not None:
        values.update(memory_mb=memory.match_mb, history=memory.history)
    return NeuralSettings(**values)


def _noisy_fill(inputs: Inputs, kind: str, gen: torch.Generator) -> torch.Tensor:
    """Each region's mean style colour (or the style's mean) with soft noise: (1, 3, H, W)."""
    style, maps, hw = inputs.style, inputs.maps, inputs.size
    if maps is not None:
        sl, tl = torch.as_tensor(maps.style_labels), torch.as_tensor(maps.target_labels)
        pal = torch.stack([style[0][:, sl == k].mean(1) if (sl == k).any() else style[0].mean((1, 2))
                           for k in range(maps.regions)])
        base = pal[tl].permute(2, 0, 1)[None]  # (1, 3, H, W)
    else:
        base = style.mean((2, 3), keepdim=True).expand(1, 3, *hw)
    h, w = hw
    small = torch.randn(1, 3, max(1, h // 8), max(1, w // 8), generator=gen)
    noise = F.interpolate(small, size=hw, mode="bilinear", align_corners=False)
    if kind == "noise":
        noise = noise + torch.randn(1, 3, h, w, generator=gen) * 0.5
    return (base + (0.08 if kind == "mean" else 0.5) * noise).clamp(0, 1).contiguous()


def _cpu_generator(gen: torch.Generator) -> torch.Generator:
    return gen if gen.device.type == "cpu" else make_generator(gen.initial_seed(), "cpu")


def transfer(style: ImageLike, style_map: ImageLike | None = None,
             target_map: ImageLike | None = None, *, content: ImageLike | None = None,
             size: tuple[int, int] | None = None, config: DoodleConfig | None = None,
             generator: torch.Generator | None = None, device: str | torch.device = "auto",
             progress: ProgressCallback | None = None,
             on_frame: Callable[[int, int, torch.Tensor], None] | None = None,
             resume: Checkpoint | None = None) -> DoodleResult:
    """One painting in one call: builds a :class:`Painter` on ``device`` (loading the network
    the config needs, none for the patch engine) and calls :meth:`Painter.paint` with the same
    keywords; see there."""
    cfg = config or DoodleConfig()
    cfg.validate()
    painter = Painter(cfg.network if cfg.engine == "neural" else None, device=device)
    return painter.paint(style, style_map, target_map, content=content, size=size, config=cfg,
                         generator=generator, progress=progress, on_frame=on_frame, resume=resume)
