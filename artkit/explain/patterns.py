"""Learning the signal estimators of PatternNet (Kindermans et al. 2017) from data.

For a neuron ``y = wᵀx`` (bias left out) the *linear* estimator is ``a = cov(x, y) / (wᵀ cov(x, y))``;
the *two-component* estimator for rectified neurons computes the same within the samples where the
neuron's pre-activation is positive (``a₊``) and where it is not (``a₋``). One streaming pass over
the data accumulates, per layer and in float64, the sums of ``x``, ``y``, ``x yᵀ`` (and their
masked versions); convolution inputs are cut into the patches each output position sees.

To keep fitting cheap, each conv layer looks at a random subset of its output locations per batch:
at most ``positions``, and at most a sixteenth of the map (at least 8), so that the statistics cost
less than the forward pass itself; they are unbiased either way. ``positions=None`` uses all.

The sums add up across batches in any order, so the pass can be shared out: under torchrun each
process fits every ``size``-th batch (each batch carrying its own generator, so its rows do not
depend on which process sees it), every process shifts its inputs by the same first batch's
means, and one all-reduce of the float64 sums gives every process the statistics — and the
patterns — of the whole pass, equal to one process's up to the order of float64 additions.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

from artkit.core import distributed
from artkit.core.artifacts import describe, load_artifact, peek_kind, save_artifact
from artkit.core.errors import ArtkitError
from artkit.core.progress import ProgressCallback, report
from artkit.core.runtime import make_generator
from artkit.explain.graph import ModelGraph, fingerprint, folded, trace

ESTIMATORS = ("linear", "relu")
KIND = "patterns"
LEGACY_FORMAT = "artkit-patterns-1"  # files written before the artifact convention
DTYPES = ("float32", "float16", "int8")
describe(KIND, "patterns file", "fit one with `artkit explain fit`")


# --------------------------------------------------------------------------- rows of a layer


def layer_rows(module: nn.Module, x: torch.Tensor, z: torch.Tensor, positions: int | None,
               generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The (input patch, output) pairs a Conv2d / Linear layer saw, grouped like its weight.

    Args:
        module: the layer (BN already folded in, so ``z`` includes the folded bias).
        x: its input, (B, Cin, H, W) or (B, Cin).
        z: its output, (B, K, Ho, Wo) or (B, K).
        positions: sample at most this many output positions per batch (None: all).
        generator: random source for the sampling.

    Returns:
        ``X`` (R, G, Dg) input patches, ``Y`` (R, G, Kg) outputs without bias, ``Z`` (R, G, Kg)
        pre-activations; ``G`` is the number of groups (1 except for grouped convolutions).
    """
    if isinstance(module, nn.Linear):
        xr = x.reshape(-1, x.shape[-1])[:, None, :]  # (R, 1, D)
        zr = z.reshape(-1, z.shape[-1])[:, None, :]  # (R, 1, K)
    else:
        xr, zr = _conv_rows(module, x, z, positions, generator)
    bias = module.bias
    yr = zr if bias is None else zr - bias.view(zr.shape[1], zr.shape[2]).to(zr.dtype)
    return xr, yr, zr


def _conv_rows(conv: nn.Conv2d, x: torch.Tensor, z: torch.Tensor, positions: int | None,
               generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    b, cin = x.shape[:2]
    k_out, ho, wo = z.shape[1:]
    kh, kw = conv.kernel_size
    sh, sw = conv.stride
    dh, dw = conv.dilation
    ph, pw = conv.padding if isinstance(conv.padding, tuple) else (0, 0)
    if conv.padding == "same":
        ph, pw = (dh * (kh - 1)) // 2, (dw * (kw - 1)) // 2
    h_in, w_in = x.shape[2:]
    n_pos = ho * wo
    if positions is not None:
        positions = min(positions, max(8, n_pos // 16))  # stats cost stays below the forward's
    if positions is not None and n_pos > positions:
        idx = torch.randperm(n_pos, generator=generator)[:positions].to(x.device)
    else:
        idx = torch.arange(n_pos, device=x.device)
    rows, cols = idx // wo, idx % wo  # (P,)
    di = torch.arange(kh, device=x.device).repeat_interleave(kw) * dh  # (kh*kw,) kernel row offsets
    dj = torch.arange(kw, device=x.device).repeat(kh) * dw
    r = rows[None, :] * sh - ph + di[:, None]  # (kh*kw, P) input rows, zero padding outside
    c = cols[None, :] * sw - pw + dj[:, None]
    inside = (r >= 0) & (r < h_in) & (c >= 0) & (c < w_in)
    flat_idx = (r.clamp(0, h_in - 1) * w_in + c.clamp(0, w_in - 1)).reshape(-1)  # (kh*kw*P,)
    patches = x.flatten(2).index_select(2, flat_idx)  # (B, Cin, kh*kw*P), ordered (c, i, j)
    if not bool(inside.all()):
        patches = patches * inside.reshape(-1).to(patches.dtype)
    patches = patches.view(b, cin, kh * kw, idx.numel())  # (B, Cin, kh*kw, P)
    g = conv.groups
    p = idx.numel()
    xr = patches.permute(0, 3, 1, 2).reshape(b * p, g, (cin // g) * kh * kw)  # (R, G, Dg)
    zr = z.reshape(b, k_out, n_pos)[:, :, idx].permute(0, 2, 1).reshape(b * p, g, k_out // g)
    return xr, zr


def grouped_weight(module: nn.Module) -> torch.Tensor:
    """The weight as (G, Dg, Kg), matching :func:`layer_rows`."""
    w = module.weight.detach()
    g = getattr(module, "groups", 1)
    k = w.shape[0]
    return w.reshape(g, k // g, -1).transpose(1, 2)  # (G, Dg, Kg)


def ungroup(a: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(G, Dg, Kg) back to the layout of the weight ``like``."""
    g, dg, kg = a.shape
    return a.transpose(1, 2).reshape(like.shape)


# --------------------------------------------------------------------------- accumulators


@dataclass
class _Stats:
    """Streaming float64 sums for one layer (inputs shifted by the first batch's means)."""

    shift_x: torch.Tensor  # (G, Dg)
    shift_y: torch.Tensor  # (G, Kg)
    n: float = 0.0
    sx: torch.Tensor | None = None  # (G, Dg)
    sy: torch.Tensor | None = None  # (G, Kg)
    sxy: torch.Tensor | None = None  # (G, Dg, Kg)
    n_pos: torch.Tensor | None = None  # (G, Kg)
    sx_pos: torch.Tensor | None = None  # (G, Dg, Kg)
    sy_pos: torch.Tensor | None = None  # (G, Kg)
    sxy_pos: torch.Tensor | None = None  # (G, Dg, Kg)

    def add(self, xr: torch.Tensor, yr: torch.Tensor, zr: torch.Tensor) -> None:
        xs = (xr - self.shift_x.to(xr)).float()  # (R, G, Dg)
        ys = (yr - self.shift_y.to(yr)).float()  # (R, G, Kg)
        m = (zr > 0).float()  # (R, G, Kg)
        stacked = torch.cat([ys, m, m * ys], dim=2)  # (R, G, 3 Kg)
        prods = torch.bmm(xs.permute(1, 2, 0), stacked.permute(1, 0, 2)).double()  # (G, Dg, 3 Kg)
        kg = ys.shape[2]
        parts = {
            "sx": xs.sum(0).double(), "sy": ys.sum(0).double(), "sxy": prods[:, :, :kg],
            "n_pos": m.sum(0).double(), "sx_pos": prods[:, :, kg:2 * kg],
            "sy_pos": (m * ys).sum(0).double(), "sxy_pos": prods[:, :, 2 * kg:],
        }
        for key, value in parts.items():
            cur = getattr(self, key)
            setattr(self, key, value if cur is None else cur + value)
        self.n += xr.shape[0]

    def _shapes(self) -> dict[str, tuple[int, ...]]:
        (g, dg), kg = self.shift_x.shape, self.shift_y.shape[1]
        return {"sx": (g, dg), "sy": (g, kg), "sxy": (g, dg, kg), "n_pos": (g, kg),
                "sx_pos": (g, dg, kg), "sy_pos": (g, kg), "sxy_pos": (g, dg, kg)}

    def flat(self) -> torch.Tensor:
        """Every sum in one float64 vector (zeros for sums not started), ``n`` first."""
        parts = [torch.tensor([self.n], dtype=torch.float64)]
        for key, shape in self._shapes().items():
            value = getattr(self, key)
            parts.append((torch.zeros(shape, dtype=torch.float64) if value is None
                          else value).reshape(-1))
        return torch.cat(parts)

    def load_flat(self, flat: torch.Tensor) -> int:
        """Take the sums back from a vector :meth:`flat` made; returns its length."""
        self.n, at = float(flat[0]), 1
        for key, shape in self._shapes().items():
            size = int(torch.Size(shape).numel())
            setattr(self, key, flat[at:at + size].reshape(shape).clone())
            at += size
        return at


class SeededBatch(NamedTuple):
    """A batch of inputs with its own generator for the position sampling, so that the rows it
    gives do not depend on the batches before it (or on which process fits it)."""

    x: torch.Tensor
    generator: torch.Generator


def _sum_across_ranks(stats: dict[str, _Stats], names: list[str]) -> None:
    """One all-reduce of every layer's float64 sums (a no-op in one process)."""
    if not distributed.active().distributed:
        return
    flat = distributed.all_reduce(torch.cat([stats[n].flat() for n in names]))
    at = 0
    for n in names:
        at += stats[n].load_flat(flat[at:])


def _pattern(n, sx, sy, sxy, w) -> torch.Tensor:
    """``cov(x, y) / (wᵀ cov(x, y))`` per neuron from sums; 0 where undefined."""
    n = torch.as_tensor(n, dtype=torch.float64)
    safe_n = torch.clamp(n, min=1.0)
    if sx.dim() == 2:  # unmasked: the same input sums for every neuron of a group
        sx = sx[:, :, None]
    mean_x = sx / safe_n[:, None, :]  # (G, Dg, Kg)
    mean_y = (sy / safe_n)[:, None, :]  # (G, 1, Kg)
    cov = sxy / safe_n[:, None, :] - mean_x * mean_y  # (G, Dg, Kg)
    denom = (w * cov).sum(1, keepdim=True)  # (G, 1, Kg)
    ok = (denom.abs() > 1e-12) & (n[:, None, :] >= 2)
    return torch.where(ok, cov / torch.where(ok, denom, torch.ones_like(denom)), torch.zeros_like(cov))


# --------------------------------------------------------------------------- Patterns


@dataclass
class Patterns:
    """Fitted signal estimators for a model's Conv2d / Linear layers.

    Attributes:
        linear: ``{layer: a}`` linear patterns, each shaped like the layer's weight.
        positive, negative: ``{layer: a₊}``, ``{layer: a₋}`` two-component patterns.
        rectified: ``{layer: bool}`` — True where a rectifier follows the layer.
        fingerprint: of the model the patterns were fitted on.
        samples: rows seen per layer.
        meta: free-form provenance (model name, data, positions ...).
    """

    linear: dict[str, torch.Tensor]
    positive: dict[str, torch.Tensor]
    negative: dict[str, torch.Tensor]
    rectified: dict[str, bool]
    fingerprint: str
    samples: dict[str, int] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    def pattern(self, layer: str, estimator: str = "relu") -> torch.Tensor:
        """The pattern PatternNet uses for ``layer``: ``a₊`` on rectified layers with the ``relu``
        estimator, else the linear one."""
        if estimator == "relu" and self.rectified.get(layer, False) and layer in self.positive:
            return self.positive[layer]
        return self.linear[layer]

    def check(self, model: nn.Module) -> None:
        """Raise unless these patterns were fitted on ``model`` (same layers and weights)."""
        fp = fingerprint(model)
        if fp != self.fingerprint:
            raise ArtkitError(f"these patterns were fitted on another model (fingerprint "
                              f"{self.fingerprint}, this model {fp})",
                              "fit patterns for this model with `artkit explain fit`")

    def compact(self) -> Patterns:
        """Only what PatternNet / PatternAttribution use (``a₊`` on rectified layers, else the
        linear pattern), as the linear table: a third of the size, same heatmaps."""
        used = {layer: self.pattern(layer) for layer in self.linear}
        return Patterns(used, {}, {}, dict(self.rectified), self.fingerprint, dict(self.samples),
                        {**self.meta, "compact": True})

    def tensors(self, dtype: str = "float32") -> dict[str, torch.Tensor]:
        """The tables as named tensors (``linear/<layer>`` ...); ``int8`` adds one float32
        scale per output neuron (``scale:linear/<layer>``)."""
        if dtype not in DTYPES:
            raise ArtkitError(f"unknown dtype '{dtype}'", f"use {', '.join(DTYPES)}")
        tensors = {}
        for kind, table in (("linear", self.linear), ("positive", self.positive),
                            ("negative", self.negative)):
            for layer, a in table.items():
                a = a.detach().to("cpu", torch.float32).contiguous()
                if dtype == "int8":
                    scale = a.reshape(a.shape[0], -1).abs().amax(1).clamp_min(1e-30) / 127.0  # (K,)
                    q = torch.round(a / scale.view(-1, *([1] * (a.dim() - 1)))).to(torch.int8)
                    tensors[f"{kind}/{layer}"] = q.contiguous()
                    tensors[f"scale:{kind}/{layer}"] = scale.contiguous()
                else:
                    tensors[f"{kind}/{layer}"] = a.to(getattr(torch, dtype))
        return tensors

    def save(self, path: str | os.PathLike, force: bool = True, dtype: str = "float32") -> Path:
        """Write as an artkit artifact (kind ``patterns``); ``dtype`` ``float16`` halves the
        size, ``int8`` (one scale per output neuron) quarters it."""
        meta = {"fingerprint": self.fingerprint, "rectified": self.rectified,
                "samples": self.samples, "meta": self.meta, "dtype": dtype}
        return save_artifact(path, self.tensors(dtype), kind=KIND, meta=meta, force=force)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Patterns:
        """Read patterns written by :meth:`save` (or by artkit before the artifact convention);
        every table, scale and metadata field is checked (nothing is unpickled).

        Raises:
            ArtkitError: missing file, not a patterns file, damaged tables or metadata.
        """
        p = Path(path)
        if not p.is_file():
            raise ArtkitError(f"patterns file '{p}' does not exist",
                              "fit one with `artkit explain fit`")
        if peek_kind(p) is None:
            return cls._load_legacy(p)
        art = load_artifact(p, KIND)
        fields = (art.field("fingerprint", str), art.field("rectified", dict),
                  art.field("samples", dict), art.field("meta", dict))
        return cls._from_tables(art.tensors, *fields, damaged=art.damaged)

    @classmethod
    def _load_legacy(cls, p: Path) -> Patterns:
        from safetensors import safe_open

        bad = ArtkitError(f"'{p}' is not a readable patterns file (safetensors)",
                          "fit one with `artkit explain fit`")
        try:
            with safe_open(str(p), framework="pt") as f:
                meta = f.metadata() or {}
                if meta.get("format") != LEGACY_FORMAT:
                    raise ArtkitError(f"'{p}' is not an artkit patterns file",
                                      "fit one with `artkit explain fit`")
                tensors = {k: f.get_tensor(k) for k in f.keys()}
            fields = tuple(json.loads(meta.get(k, "{}")) for k in ("rectified", "samples", "meta"))
        except ArtkitError:
            raise
        except Exception:
            raise bad from None

        def damaged(why: str) -> ArtkitError:
            return ArtkitError(f"patterns file '{p}' is damaged: {why}",
                               "fit it again with `artkit explain fit`")

        return cls._from_tables(tensors, meta.get("fingerprint", ""), *fields, damaged=damaged)

    @classmethod
    def _from_tables(cls, tensors: dict[str, torch.Tensor], fingerprint, rectified, samples,
                     meta, *, damaged) -> Patterns:
        """Check the tables and metadata of a patterns file and build the object."""
        if not isinstance(fingerprint, str) or not fingerprint:
            raise damaged("its model fingerprint is missing")
        if not isinstance(rectified, dict) or not all(
                isinstance(k, str) and isinstance(v, bool) for k, v in rectified.items()):
            raise damaged("'rectified' is not a map of layer names to true/false")
        if not isinstance(samples, dict) or not all(
                isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0
                for k, v in samples.items()):
            raise damaged("'samples' is not a map of layer names to counts")
        if not isinstance(meta, dict):
            raise damaged("'meta' is not a JSON object")
        tables: dict[str, dict[str, torch.Tensor]] = {"linear": {}, "positive": {}, "negative": {}}
        for key, t in tensors.items():
            if key.startswith("scale:"):
                if key[6:] not in tensors:
                    raise damaged(f"scale '{key}' has no table")
                continue
            kind, _, layer = key.partition("/")
            if kind not in tables or not _:
                raise damaged(f"unexpected tensor '{key}'")
            a = t.float()
            if not bool(torch.isfinite(a).all()):
                raise damaged(f"tensor '{key}' holds NaN or infinite values")
            scale = tensors.get(f"scale:{key}")
            if scale is not None:
                if scale.dim() != 1 or a.dim() == 0 or scale.shape[0] != a.shape[0]:
                    raise damaged(f"scale of '{key}' has {tuple(scale.shape)} entries for "
                                  f"{a.shape[0] if a.dim() else 0} neurons")
                a = a * scale.float().view(-1, *([1] * (a.dim() - 1)))
            tables[kind][layer] = a
        if not tables["linear"]:
            raise damaged("it holds no pattern")
        for kind in ("positive", "negative"):
            for layer, a in tables[kind].items():
                ref = tables["linear"].get(layer)
                if ref is None or ref.shape != a.shape:
                    raise damaged(f"{kind} pattern of '{layer}' does not match its linear one")
        unknown = set(rectified) - set(tables["linear"])
        if unknown:
            raise damaged(f"'rectified' names layers without patterns ({sorted(unknown)[0]})")
        return cls(tables["linear"], tables["positive"], tables["negative"], dict(rectified),
                   fingerprint, dict(samples), dict(meta))


@contextlib.contextmanager
def layer_io(model: nn.Module, graph: ModelGraph):
    """Hooks recording ``(input, output)`` of every Conv/Linear layer during a forward pass.

    Yields a dict that each forward fills as ``{layer name: (x, z)}``.
    """
    seen: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    handles = []
    for info in graph.layers:
        def hook(module, inputs, output, _name=info.name):
            seen[_name] = (inputs[0].detach(), output.detach())
        handles.append(info.module.register_forward_hook(hook))
    try:
        yield seen
    finally:
        for h in handles:
            h.remove()


def _batches(data: Iterable) -> Iterable[tuple[torch.Tensor, torch.Generator | None]]:
    for item in data:
        if isinstance(item, SeededBatch):
            yield item.x, item.generator
            continue
        x = item[0] if isinstance(item, (tuple, list)) else item
        if not isinstance(x, torch.Tensor):
            raise ArtkitError(f"pattern data must yield tensors (or (tensor, label) pairs), got "
                              f"{type(x).__name__}")
        yield x, None


def fit_patterns(model: nn.Module, data: Iterable, estimator: str = "relu", *,
                 positions: int | None = 256, seed: int = 0, device: str | torch.device | None = None,
                 total: int | None = None, progress: ProgressCallback | None = None,
                 generator: torch.Generator | None = None, shift_from: SeededBatch | None = None,
                 across_ranks: bool = False) -> Patterns:
    """Fit PatternNet's signal estimators for every Conv2d / Linear layer of ``model``.

    Args:
        model: a supported torch model (see :mod:`artkit.explain.graph`); left unchanged.
        data: an iterable of input batches (tensors, or (tensor, label) pairs — a DataLoader —
            or :class:`SeededBatch` es, each sampled with its own generator).
        estimator: ``"relu"`` fits both the linear and the two-component patterns (the default,
            what PatternNet uses); ``"linear"`` only the linear ones.
        positions: output positions sampled per conv layer and batch (None: all).
        seed: seed of the position sampling when no ``generator`` is given.
        device: where to run (default: where the model is).
        total: number of batches, for progress reporting.
        progress: receives an event per batch.
        generator: source of the position sampling (for batches without their own).
        shift_from: a batch whose means shift the inputs (it is not counted); default: the
            first batch. Processes that share a pass must shift alike.
        across_ranks: under torchrun, sum the statistics of every rank's batches (one
            all-reduce), so that every rank returns the patterns of the whole pass; a rank may
            then have no batch of its own if ``shift_from`` is given.

    Returns:
        The fitted :class:`Patterns`.

    Raises:
        ArtkitError: unknown estimator, unsupported layers, no data.
    """
    if estimator not in ESTIMATORS:
        raise ArtkitError(f"unknown estimator '{estimator}'", f"use one of: {', '.join(ESTIMATORS)}")
    if device is None:
        device = next(model.parameters()).device
    generator = generator if generator is not None else make_generator(seed)
    batches = iter(_batches(data))
    first = next(batches, None)
    if first is None and shift_from is None:
        raise ArtkitError("no data to fit patterns on", "give at least one batch of inputs")
    graph = trace(model, (first[0] if first is not None else shift_from.x)[:1].to(device))
    fp = fingerprint(model)
    stats: dict[str, _Stats] = {}
    done = 0
    with folded(model, graph), layer_io(model, graph) as seen, torch.no_grad():
        if shift_from is not None:
            model(shift_from.x.to(device))
            for info in graph.layers:
                xi, zi = seen[info.name]
                xr, yr, _ = layer_rows(info.module, xi, zi, positions, shift_from.generator)
                stats[info.name] = _Stats(xr.double().mean(0).cpu(), yr.double().mean(0).cpu())
        for x, own in (_chain(first, batches) if first is not None else ()):
            model(x.to(device))
            for info in graph.layers:
                xi, zi = seen[info.name]
                xr, yr, zr = layer_rows(info.module, xi, zi, positions, own or generator)
                if info.name not in stats:
                    stats[info.name] = _Stats(xr.double().mean(0).cpu(), yr.double().mean(0).cpu())
                stats[info.name].add(xr.cpu(), yr.cpu(), zr.cpu())
            done += 1
            report(progress, "fit patterns", done, total)
        if across_ranks:
            _sum_across_ranks(stats, [info.name for info in graph.layers])
            done = int(distributed.all_reduce(torch.tensor([done], dtype=torch.int64)))
        linear, positive, negative = {}, {}, {}
        for info in graph.layers:
            s = stats[info.name]
            w = grouped_weight(info.module).double().cpu()  # (G, Dg, Kg), BN folded
            n_all = torch.full_like(s.sy, s.n)
            linear[info.name] = ungroup(_pattern(n_all, s.sx, s.sy, s.sxy, w), info.module.weight).float()
            if estimator == "relu":
                positive[info.name] = ungroup(_pattern(s.n_pos, s.sx_pos, s.sy_pos, s.sxy_pos, w),
                                              info.module.weight).float()
                sx_neg = s.sx[:, :, None] - s.sx_pos
                negative[info.name] = ungroup(_pattern(n_all - s.n_pos, sx_neg, s.sy - s.sy_pos,
                                                       s.sxy - s.sxy_pos, w), info.module.weight).float()
    return Patterns(linear, positive, negative, {i.name: i.rectified for i in graph.layers},
                    fp, {k: int(v.n) for k, v in stats.items()},
                    {"estimator": estimator, "positions": positions, "batches": done, "seed": seed})


def _chain(first, rest):
    yield first
    yield from rest
