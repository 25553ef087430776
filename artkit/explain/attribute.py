"""Attribution: PatternNet, PatternAttribution and the baselines people compare them with.

Every method is one forward and one (modified) backward pass, declared once in the registry
(:mod:`artkit.explain.methods`). Each Conv2d / Linear layer gets a forward hook whose autograd
node replaces the layer's backward rule:

- ``gradient``: the plain gradient ``Wᵀ g`` (no hook).
- ``patternnet``: ``Aᵀ g`` — the pattern in place of the weight; ReLUs and pools gate the signal
  exactly as they gate the gradient. The result is the signal direction in input space (its scale
  is arbitrary; where it exceeds float32's range it is computed in float64 and returned at unit
  RMS).
- ``patternattribution``: ``(W ⊙ A)ᵀ g``; the result is the attribution at the input.
- ``lrp_epsilon``: ``Wᵀ (g · z / (z + ε sign z))``, then times the input (LRP-ε written as a
  modified gradient times input).
- ``input_x_gradient``: the gradient times the input.
- ``smoothgrad`` (= ``smooth:gradient``) and ``smooth:METHOD``: any method averaged over noisy
  copies of the input.

**Strided layers and the stride grid.** Back-projecting through a convolution of stride s and
kernel k > s adds, at each input pixel, the contributions of the 1, 2 or 4 output positions
whose windows cover it: pixels of one phase of the stride get systematically more than their
neighbours. With a signed, noisy gradient this washes out; with PatternNet's and
PatternAttribution's smooth, positive back-projections it printed a period-2 grid over the whole
map on EfficientNet-Lite0 (its five stride-2 layers: 89 % of the map's energy at the grid's
frequencies on scikit-image's cat, 99.7 % on a flat gray image), and a figure scaled by a few
percent turned the grid into a "seam" (one half of the map sampled on the light phase, the other
on the dark one). The pattern methods therefore filter what a strided layer passes down with a
small symmetric triangle filter whose zeros sit exactly on the stride's phase frequencies
(:func:`stride_smooth`): the phase structure goes, the map's content at the scale the network
resolves stays, and a mirrored input still gives the mirrored map. The gradient, input ×
gradient and LRP-ε are left exact, as the reference tests against an independent
implementation require.

A GroupNorm (which normalises by the sample's own statistics) is, for the pattern methods and
LRP, the per-channel scaling ``γ / σ`` it applies to this input, statistics held fixed — the way
batch norm is a fixed affine map in eval mode; the gradient methods differentiate it fully.

"Times the input" is measured from the input that the model's preprocessing maps to zero (e.g.
127/255 grey for EfficientNet-Lite0), so it equals input × gradient at the first layer.
"""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from artkit.core.errors import ArtkitError
from artkit.core.runtime import default_generator, make_generator
from artkit.explain.graph import ModelGraph, folded, trace
from artkit.explain.methods import (
    SMOOTH_NOISE,
    SMOOTH_SAMPLES,
    Method,
    get_method,
    method_names,
    methods_needing_patterns,
    register_method,
    smoothed,
)
from artkit.explain.patterns import Patterns
from artkit.nets.efficientnet import LitePreprocess
from artkit.nets.vgg import CaffePreprocess, TorchvisionPreprocess


class _Rule(torch.autograd.Function):
    """Identity on the layer's output whose backward applies a replacement rule."""

    @staticmethod
    def forward(ctx, x, out, rule):
        ctx.rule = rule
        ctx.x_shape = x.shape
        ctx.save_for_backward(out)
        return out.clone()

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return ctx.rule(grad, out, ctx.x_shape), None, None


def stride_smooth(r: torch.Tensor, stride: tuple[int, int]) -> torch.Tensor:
    """Remove the phase pattern of a stride from a back-projection, symmetrically.

    Each axis with stride s > 1 is filtered with the triangle ``1, 2, …, s, …, 2, 1`` (width
    2s − 1, the box of width s convolved with itself): it is symmetric (a mirrored input gives
    the mirrored result, whatever the size) and has zeros at every multiple of 1/s, the
    frequencies of the stride's phase pattern. Borders are normalised by the filter's mass
    inside the map, so a flat map stays flat.

    Args:
        r: (B, C, H, W) a back-projection at a strided layer's input.
        stride: (sh, sw).

    Returns:
        (B, C, H, W) the filtered back-projection.
    """
    b, c, h, w = r.shape
    x = r.reshape(b * c, 1, h, w)
    ones = torch.ones(1, 1, h, w, dtype=r.dtype, device=r.device)
    for axis, s in ((2, stride[0]), (3, stride[1])):
        if s <= 1:
            continue
        tri = torch.cat([torch.arange(1, s + 1), torch.arange(s - 1, 0, -1)]).to(r)  # (2s-1,)
        shape = (1, 1, 2 * s - 1, 1) if axis == 2 else (1, 1, 1, 2 * s - 1)
        pad = (s - 1, 0) if axis == 2 else (0, s - 1)
        k = tri.view(shape)
        x = F.conv2d(x, k, padding=pad) / F.conv2d(ones, k, padding=pad)
    return x.reshape(b, c, h, w)


def _backward_through(module: nn.Module, weight: torch.Tensor, cells: bool = False):
    """``g -> weightᵀ g`` for ``module``'s geometry (a conv transpose / matrix product); with
    ``cells``, a strided convolution's result is filtered by :func:`stride_smooth`."""
    if isinstance(module, nn.Linear):
        return lambda g, shape: (g @ weight).reshape(shape)
    pad = module.padding
    if pad == "same":
        kh, kw = module.kernel_size
        dh, dw = module.dilation
        pad = ((dh * (kh - 1)) // 2, (dw * (kw - 1)) // 2)
    strided = cells and tuple(module.stride) != (1, 1)

    def conv_t(g, shape):
        r = torch.nn.grad.conv2d_input(shape, weight, g, module.stride, pad, module.dilation,
                                       module.groups)
        return stride_smooth(r, tuple(module.stride)) if strided else r

    return conv_t


def _unit(r: torch.Tensor) -> torch.Tensor:
    """``r`` scaled to unit RMS per sample (PatternNet's signal has no meaningful scale)."""
    shape = (-1, *([1] * (r.dim() - 1)))
    r = r / r.abs().flatten(1).amax(1).clamp_min(1e-30).view(shape)  # squaring 1e23 overflows
    rms = r.pow(2).flatten(1).mean(1).sqrt().clamp_min(1e-30)
    return r / rms.view(shape)


def pattern_rule(module: nn.Module, pattern: torch.Tensor, eps: float):
    """PatternNet's backward rule for one layer: ``Aᵀ g``."""
    back = _backward_through(module, pattern.to(module.weight), cells=True)
    return lambda g, out, shape: back(g, shape)


def pattern_attribution_rule(module: nn.Module, pattern: torch.Tensor, eps: float):
    """PatternAttribution's backward rule for one layer: ``(W ⊙ A)ᵀ g``."""
    w = module.weight.detach()
    back = _backward_through(module, w * pattern.to(w), cells=True)
    return lambda g, out, shape: back(g, shape)


def lrp_epsilon_rule(module: nn.Module, pattern: torch.Tensor | None, eps: float):
    """LRP-ε's backward rule for one layer: ``Wᵀ (g · z / (z + ε sign z))``."""
    back = _backward_through(module, module.weight.detach())

    def lrp(g, out, shape):
        stab = out + eps * torch.where(out >= 0, 1.0, -1.0)
        return back(g * out / stab, shape)

    return lrp


@contextlib.contextmanager
def _rules(graph: ModelGraph, rule, patterns: Patterns | None, eps: float):
    handles = []
    for info in graph.layers:
        pattern = None
        if patterns is not None:
            if info.name not in patterns.linear:
                raise ArtkitError(f"the patterns have no entry for layer '{info.name}'",
                                  "fit patterns for this model with `artkit explain fit`")
            pattern = patterns.pattern(info.name)
        fn = rule(info.module, pattern, eps)

        def hook(module, inputs, output, _fn=fn):
            return _Rule.apply(inputs[0], output, _fn)

        handles.append(info.module.register_forward_hook(hook))
    for module in graph.norms:
        handles.append(module.register_forward_hook(_frozen_norm_hook))
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def _frozen_norm_hook(module: nn.GroupNorm, inputs, output):
    """Route the backward of a GroupNorm through ``g · γ_c / σ_{b,group}`` (statistics fixed)."""
    x = inputs[0]
    b, c = x.shape[:2]
    g = module.num_groups
    var = x.detach().reshape(b, g, -1).var(dim=2, unbiased=False)  # (B, G)
    scale = torch.rsqrt(var + module.eps).repeat_interleave(c // g, dim=1)  # (B, C)
    if module.affine:
        scale = scale * module.weight.detach()
    scale = scale.view(b, c, *([1] * (x.dim() - 2)))
    return _Rule.apply(x, output, lambda grad, out, shape: (grad * scale).reshape(shape))


@contextlib.contextmanager
def _frozen(model: nn.Module):
    """No parameter gradients inside (attribution needs only the input's)."""
    flags = [(p, p.requires_grad) for p in model.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def input_reference(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The input the model's preprocessing maps to zero (0 when it has none), shaped like ``x``.

    Found from the first module of the model if it is one of artkit's preprocessing modules
    (affine per channel), by evaluating it at 0 and 1.
    """
    for m in model.modules():
        if isinstance(m, (LitePreprocess, CaffePreprocess, TorchvisionPreprocess)):
            c = x.shape[1]
            zeros = torch.zeros(1, c, 1, 1, dtype=x.dtype, device=x.device)
            with torch.no_grad():
                at0 = m(zeros)  # (1, C, 1, 1)
                slope = m(zeros + 1) - at0
            if isinstance(m, CaffePreprocess):  # it also flips RGB -> BGR
                at0, slope = at0.flip(1), slope.flip(1)
            return (-at0 / slope).expand_as(x)
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            break
    return torch.zeros_like(x)


def _targets(logits: torch.Tensor, target) -> torch.Tensor:
    b, k = logits.shape
    if target is None:
        return logits.argmax(1)
    t = torch.as_tensor(target, device=logits.device).long().reshape(-1)
    if t.numel() == 1:
        t = t.expand(b)
    if t.numel() != b:
        raise ArtkitError(f"target has {t.numel()} entries for a batch of {b}")
    if int(t.min()) < 0 or int(t.max()) >= k:
        raise ArtkitError(f"target {int(t.max()) if int(t.max()) >= k else int(t.min())} is out of "
                          f"range: the model has {k} outputs (0..{k - 1})")
    return t


@dataclass
class Context:
    """What a method's ``run`` works with: one model, inputs, targets and (maybe) patterns.

    Attributes:
        model: the model (batch norms folded while methods run).
        x: (B, C, H, W) or (B, D) inputs.
        target: (B,) output indices.
        patterns: fitted patterns or ``None``.
        graph: the model's traced layers.
        eps: LRP's ε.
        generator: randomness (SmoothGrad's noise).
    """

    model: nn.Module
    x: torch.Tensor
    target: torch.Tensor
    patterns: Patterns | None
    graph: ModelGraph
    eps: float
    generator: torch.Generator

    def grad(self, rule=None, x: torch.Tensor | None = None, scale: float = 1.0) -> torch.Tensor:
        """The (modified) gradient of ``scale`` × the target outputs at ``x`` (default: the
        input); ``rule`` is a per-layer rule factory such as :func:`pattern_rule`."""
        x = self.x if x is None else x
        if rule is None:
            return _grad(self.model, x, self.target, scale)[0]
        with _rules(self.graph, rule, self.patterns, self.eps):
            return _grad(self.model, x, self.target, scale)[0]

    def delta(self, x: torch.Tensor | None = None) -> torch.Tensor:
        """The input minus the input the preprocessing maps to zero ("times the input")."""
        x = self.x if x is None else x
        return (x - input_reference(self.model, x)).float()

    def smooth(self, base: Method, samples: int, noise: float) -> torch.Tensor:
        """``base`` averaged over ``samples`` copies of the input with Gaussian noise of std
        ``noise`` × the input's range (per sample)."""
        x = self.x
        dims = tuple(range(1, x.dim()))
        span = x.amax(dim=dims, keepdim=True) - x.amin(dim=dims, keepdim=True)
        total = torch.zeros_like(x, dtype=torch.float64 if x.dtype == torch.float64 else torch.float32)
        for _ in range(samples):
            nz = torch.randn(x.shape, generator=self.generator).to(x) * noise * span
            total += base.run(Context(self.model, x + nz, self.target, self.patterns,
                                      self.graph, self.eps, self.generator))
        return total / samples


def _lrp(ctx: Context) -> torch.Tensor:
    return ctx.grad(lrp_epsilon_rule) * ctx.delta()


def _patternnet(ctx: Context) -> torch.Tensor:
    # Patterns are scaled so that wᵀa = 1, not |a| = 1: through 50 layers their product can
    # exceed float32's range (10²³ and more seen on EfficientNet-Lite0). The map is returned at
    # its natural scale when float32 holds it; otherwise it is recomputed in float64 and, if
    # still beyond float32's range, returned at unit RMS (the signal is a direction).
    r = ctx.grad(pattern_rule)
    if bool(torch.isfinite(r).all()):
        return r
    r64 = _in_float64(ctx, pattern_rule)
    if float(r64.abs().max()) < 1e30:
        return r64.to(r.dtype)
    return _unit(r64).to(r.dtype)


def _in_float64(ctx: Context, rule) -> torch.Tensor:
    """The modified gradient computed on a float64 copy of the model (range 1e308 instead of
    float32's 1e38), for back-projections that overflow in float32."""
    model = copy.deepcopy(ctx.model).double()
    x = ctx.x.double()
    ctx64 = Context(model, x, ctx.target, ctx.patterns, trace(model, x[:1]), ctx.eps, ctx.generator)
    return ctx64.grad(rule)


# The built-in methods, declared once: every list of methods is read from the registry.
register_method(Method("patternnet", _patternnet, needs_patterns=True, signed=False,
                       render="signal", help="the signal the network detected (Kindermans et "
                                             "al. 2017), as an image"))
register_method(Method("patternattribution", lambda c: c.grad(pattern_attribution_rule),
                       needs_patterns=True, help="how much each pixel contributed, along the "
                                                 "learned signal direction"))
register_method(Method("gradient", lambda c: c.grad(), signed=False,
                       help="the plain gradient: sensitivity, signal and distractor alike"))
register_method(Method("input_x_gradient", lambda c: c.grad() * c.delta(),
                       help="gradient times input"))
register_method(smoothed(get_method("gradient"), name="smoothgrad"), alias_of="smooth:gradient")
register_method(Method("lrp_epsilon", _lrp, help="layer-wise relevance propagation, ε rule"))

# Snapshots of the built-in registry, for code written against the old constants.
METHODS = method_names()
NEEDS_PATTERNS = methods_needing_patterns()


def attribute(model: nn.Module, x: torch.Tensor, method: str = "patternattribution",
              target: int | torch.Tensor | None = None, patterns: Patterns | None = None, *,
              eps: float = 1e-6, samples: int | None = None, noise: float | None = None,
              seed: int | None = None, generator: torch.Generator | None = None,
              graph: ModelGraph | None = None) -> torch.Tensor:
    """Explain the ``target`` output of ``model`` for inputs ``x``.

    Args:
        model: a supported model returning (B, K) outputs; left unchanged.
        x: (B, C, H, W) (or (B, D)) inputs.
        method: a registered method (:func:`artkit.explain.methods.method_names`) or
            ``smooth:METHOD``.
        target: output index per sample (None: the top output; an int: that output for all).
        patterns: fitted patterns (needed by ``patternnet`` and ``patternattribution``).
        eps: the ε of ``lrp_epsilon``.
        samples, noise: override the number of noisy copies and the noise std (relative to the
            input's range) of a smoothed method.
        seed: seed of the smoothing noise when no ``generator`` is given (kept for old callers).
        generator: source of the smoothing noise (default: a CPU generator seeded with 0).
        graph: a pre-computed :func:`trace` of the model (saves one forward pass).

    Returns:
        Attributions shaped like ``x`` (float32; float64 for a float64 model and input).

    Raises:
        ArtkitError: unknown method, missing or mismatched patterns, bad target, unsupported layer.
    """
    spec = get_method(method)
    if (samples is not None or noise is not None) and spec.base is not None:
        spec = smoothed(get_method(spec.base), samples or SMOOTH_SAMPLES, noise or SMOOTH_NOISE)
    if spec.needs_patterns:
        if patterns is None:
            raise ArtkitError(f"{method} needs fitted patterns",
                              "fit them with `artkit explain fit` (or fit_patterns) and pass them")
        patterns.check(model)
    if generator is None:
        generator = make_generator(seed) if seed is not None else default_generator(None)
    graph = graph or trace(model, x[:1])
    with folded(model, graph), _frozen(model):
        with torch.no_grad():
            t = _targets(_logits(model, x), target)
        ctx = Context(model, x, t, patterns if spec.needs_patterns else None, graph, eps, generator)
        return _as_float(spec.run(ctx))


def _logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    out = model(x)
    if out.dim() != 2:
        raise ArtkitError(f"the model returns outputs shaped {tuple(out.shape)}; attribution "
                          "needs (batch, outputs)")
    return out


def _grad(model: nn.Module, x: torch.Tensor, target,
          scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    xi = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        out = _logits(model, xi)
        t = _targets(out, target)
        seed = torch.zeros_like(out)
        seed[torch.arange(out.shape[0]), t] = scale
        (g,) = torch.autograd.grad(out, xi, seed)
    return _as_float(g), t


def _as_float(t: torch.Tensor) -> torch.Tensor:
    """float32, or float64 for float64 inputs (the slow references compare in float64)."""
    return t if t.dtype == torch.float64 else t.float()
