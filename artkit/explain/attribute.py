"""Attribution: PatternNet, PatternAttribution and the baselines people compare them with.

All methods are one forward and one (modified) backward pass. Each Conv2d / Linear layer gets a
forward hook whose autograd node replaces the layer's backward rule:

- ``gradient``: the plain gradient ``Wᵀ g`` (no hook).
- ``patternnet``: ``Aᵀ g`` — the pattern in place of the weight; ReLUs and pools gate the signal
  exactly as they gate the gradient. The result is the signal direction in input space.
- ``patternattribution``: ``(W ⊙ A)ᵀ g``; the result is the attribution at the input.
- ``lrp_epsilon``: ``Wᵀ (g · z / (z + ε sign z))``, then times the input (LRP-ε written as a
  modified gradient times input).
- ``input_x_gradient``: the gradient times the input.
- ``smoothgrad``: the gradient averaged over noisy copies of the input.

A GroupNorm (which normalises by the sample's own statistics) is, for the pattern methods and
LRP, the per-channel scaling ``γ / σ`` it applies to this input, statistics held fixed — the way
batch norm is a fixed affine map in eval mode; the gradient methods differentiate it fully.

"Times the input" is measured from the input that the model's preprocessing maps to zero (e.g.
127/255 grey for EfficientNet-Lite0), so it equals input × gradient at the first layer.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from artkit.core.errors import ArtkitError
from artkit.explain.graph import ModelGraph, folded, trace
from artkit.explain.patterns import Patterns

METHODS = ("patternnet", "patternattribution", "gradient", "input_x_gradient", "smoothgrad",
           "lrp_epsilon")
NEEDS_PATTERNS = ("patternnet", "patternattribution")


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


def _backward_through(module: nn.Module, weight: torch.Tensor):
    """``g -> weightᵀ g`` for ``module``'s geometry (a conv transpose / matrix product)."""
    if isinstance(module, nn.Linear):
        return lambda g, shape: (g @ weight).reshape(shape)
    pad = module.padding
    if pad == "same":
        kh, kw = module.kernel_size
        dh, dw = module.dilation
        pad = ((dh * (kh - 1)) // 2, (dw * (kw - 1)) // 2)

    def conv_t(g, shape):
        return torch.nn.grad.conv2d_input(shape, weight, g, module.stride, pad, module.dilation,
                                          module.groups)

    return conv_t


def _rule_for(method: str, module: nn.Module, pattern: torch.Tensor | None, eps: float):
    w = module.weight.detach()
    if method == "patternnet":
        back = _backward_through(module, pattern.to(w))
        return lambda g, out, shape: back(g, shape)
    if method == "patternattribution":
        back = _backward_through(module, (w * pattern.to(w)))
        return lambda g, out, shape: back(g, shape)
    if method == "lrp_epsilon":
        back = _backward_through(module, w)

        def lrp(g, out, shape):
            stab = out + eps * torch.where(out >= 0, 1.0, -1.0)
            return back(g * out / stab, shape)

        return lrp
    raise AssertionError(method)


@contextlib.contextmanager
def _rules(graph: ModelGraph, method: str, patterns: Patterns | None, eps: float):
    handles = []
    for info in graph.layers:
        pattern = None
        if method in NEEDS_PATTERNS:
            if info.name not in patterns.linear:
                raise ArtkitError(f"the patterns have no entry for layer '{info.name}'",
                                  "fit patterns for this model with `artkit explain fit`")
            pattern = patterns.pattern(info.name)
        rule = _rule_for(method, info.module, pattern, eps)

        def hook(module, inputs, output, _rule=rule):
            return _Rule.apply(inputs[0], output, _rule)

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
    from artkit.nets.efficientnet import LitePreprocess
    from artkit.nets.vgg import CaffePreprocess, TorchvisionPreprocess

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


def attribute(model: nn.Module, x: torch.Tensor, method: str = "patternattribution",
              target: int | torch.Tensor | None = None, patterns: Patterns | None = None, *,
              eps: float = 1e-6, samples: int = 16, noise: float = 0.15, seed: int = 0,
              graph: ModelGraph | None = None) -> torch.Tensor:
    """Explain the ``target`` output of ``model`` for inputs ``x``.

    Args:
        model: a supported model returning (B, K) outputs; left unchanged.
        x: (B, C, H, W) (or (B, D)) inputs.
        method: one of :data:`METHODS`.
        target: output index per sample (None: the top output; an int: that output for all).
        patterns: fitted patterns (needed by ``patternnet`` and ``patternattribution``).
        eps: the ε of ``lrp_epsilon``.
        samples, noise: number of noisy copies and noise std (relative to the input's range) of
            ``smoothgrad``.
        seed: seed of ``smoothgrad``'s noise.
        graph: a pre-computed :func:`trace` of the model (saves one forward pass).

    Returns:
        Attributions shaped like ``x`` (float32).

    Raises:
        ArtkitError: unknown method, missing or mismatched patterns, bad target, unsupported layer.
    """
    if method not in METHODS:
        raise ArtkitError(f"unknown attribution method '{method}'", f"use one of: {', '.join(METHODS)}")
    if method in NEEDS_PATTERNS:
        if patterns is None:
            raise ArtkitError(f"{method} needs fitted patterns",
                              "fit them with `artkit explain fit` (or fit_patterns) and pass them")
        patterns.check(model)
    graph = graph or trace(model, x[:1])
    with folded(model, graph), _frozen(model):
        if method == "smoothgrad":
            gen = torch.Generator().manual_seed(seed)
            span = (x.amax(dim=tuple(range(1, x.dim())), keepdim=True)
                    - x.amin(dim=tuple(range(1, x.dim())), keepdim=True))
            total = torch.zeros_like(x, dtype=torch.float32)
            t = None
            for _ in range(samples):
                nz = torch.randn(x.shape, generator=gen).to(x) * noise * span
                g, t = _grad(model, x + nz, target if t is None else t)
                total += g
            return total / samples
        if method in ("gradient", "input_x_gradient"):
            g, _ = _grad(model, x, target)
        else:
            with _rules(graph, method, patterns, eps):
                g, _ = _grad(model, x, target)
    if method in ("input_x_gradient", "lrp_epsilon"):
        g = (x - input_reference(model, x)).float() * g
    return g


def _grad(model: nn.Module, x: torch.Tensor, target) -> tuple[torch.Tensor, torch.Tensor]:
    xi = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        out = model(xi)
        if out.dim() != 2:
            raise ArtkitError(f"the model returns outputs shaped {tuple(out.shape)}; attribution "
                              "needs (batch, outputs)")
        t = _targets(out, target)
        seed = torch.zeros_like(out)
        seed[torch.arange(out.shape[0]), t] = 1.0
        (g,) = torch.autograd.grad(out, xi, seed)
    return g.float(), t
