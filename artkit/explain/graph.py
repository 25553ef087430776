"""Walking a model for PatternNet: which layers it has, how they connect, and BN folding.

PatternNet needs, for every Conv2d / Linear layer, its input (to unfold into patches) and its
pre-activation, whether a rectifier follows it (to pick the two-component pattern), and the layer
*without* batch norm in between — so batch norms are folded into the convolution before them.
Everything here works with module hooks on one forward pass; the model is left exactly as it was.

Supported leaf modules are listed in :data:`SUPPORTED`; anything else is an error naming the type,
because a silently mis-propagated layer gives a wrong heatmap that still looks plausible.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, field

import torch
from torch import nn

from artkit.core.errors import ArtkitError
from artkit.nets.efficientnet import LitePreprocess, Residual, SamePad2d
from artkit.nets.vgg import CaffePreprocess, TorchvisionPreprocess

LINEAR_TYPES = (nn.Conv2d, nn.Linear)
RECTIFIERS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU)
BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
# Normalisations by the sample's own statistics: PatternNet and LRP treat them as the per-channel
# scaling they apply to this input (statistics frozen), the gradient differentiates them fully.
SAMPLE_NORMS = (nn.GroupNorm,)


def _supported() -> tuple[type, ...]:
    return (LINEAR_TYPES + RECTIFIERS + BATCHNORMS + SAMPLE_NORMS + (
        nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.Flatten, nn.Dropout, nn.Identity,
        nn.ZeroPad2d, Residual, SamePad2d, LitePreprocess, CaffePreprocess, TorchvisionPreprocess))


def _is_leaf(module: nn.Module) -> bool:
    return next(iter(module.children()), None) is None


@dataclass
class LayerInfo:
    """One Conv2d / Linear layer as PatternNet sees it.

    Attributes:
        name: its qualified name in the model (``_blocks.3._project_conv``).
        module: the layer.
        batchnorm: name of the batch norm folded into it (``None`` if none follows it).
        rectified: True when a ReLU-like activation consumes its (batch-normed) output, so the
            two-component ``relu`` pattern applies; False for layers feeding an addition or the
            output, which get the ``linear`` pattern.
    """

    name: str
    module: nn.Module
    batchnorm: str | None = None
    rectified: bool = False


@dataclass
class ModelGraph:
    """The Conv/Linear layers of a model in forward order, with folding and gating info."""

    layers: list[LayerInfo] = field(default_factory=list)
    norms: list[nn.Module] = field(default_factory=list)  # sample-statistics norms, in order

    def by_name(self) -> dict[str, LayerInfo]:
        return {info.name: info for info in self.layers}


def trace(model: nn.Module, example: torch.Tensor) -> ModelGraph:
    """Run ``example`` through ``model`` once with hooks and describe its linear layers.

    Raises:
        ArtkitError: the model contains a layer type PatternNet does not know, a Conv2d with a
            non-zero padding mode, or no Conv2d / Linear layer at all.
    """
    supported = _supported()
    names = {m: n for n, m in model.named_modules()}
    for module, name in names.items():
        if _is_leaf(module) and not isinstance(module, supported):
            raise ArtkitError(f"layer '{name}' is a {type(module).__name__}, which PatternNet "
                              "does not support",
                              "supported: Conv2d, Linear, ReLU/ReLU6/LeakyReLU, BatchNorm, GroupNorm, "
                              "max/avg pooling, Flatten, Dropout, residual additions")
        if isinstance(module, nn.Conv2d) and module.padding_mode != "zeros":
            raise ArtkitError(f"layer '{name}' uses padding_mode='{module.padding_mode}'",
                              "only zero padding is supported")

    producer: dict[int, str] = {}  # id(output tensor) -> name of the leaf that made it
    consumers: dict[str, list[str]] = {}
    order: list[str] = []
    keep: list[torch.Tensor] = []  # keep outputs alive so their ids stay unique

    def pre_hook(module, inputs):
        name = names[module]
        for t in inputs:
            if isinstance(t, torch.Tensor) and id(t) in producer:
                consumers.setdefault(producer[id(t)], []).append(name)

    def post_hook(module, inputs, output):
        name = names[module]
        if isinstance(output, torch.Tensor):
            producer[id(output)] = name
            keep.append(output)
        order.append(name)

    handles = []
    for module, name in names.items():
        if _is_leaf(module):
            handles.append(module.register_forward_pre_hook(pre_hook))
            handles.append(module.register_forward_hook(post_hook))
    try:
        with torch.no_grad(), eval_mode(model):
            model(example)
    finally:
        for h in handles:
            h.remove()

    modules = dict(model.named_modules())
    graph = ModelGraph()
    for name in dict.fromkeys(order):
        if isinstance(modules[name], SAMPLE_NORMS):
            graph.norms.append(modules[name])
    for name in order:
        module = modules[name]
        if not isinstance(module, LINEAR_TYPES) or name in graph.by_name():
            continue
        info = LayerInfo(name, module)
        nxt = consumers.get(name, [])
        if len(nxt) == 1 and isinstance(modules[nxt[0]], BATCHNORMS):
            info.batchnorm = nxt[0]
            nxt = consumers.get(nxt[0], [])
        info.rectified = len(nxt) >= 1 and all(isinstance(modules[n], RECTIFIERS) for n in nxt)
        graph.layers.append(info)
    if not graph.layers:
        raise ArtkitError("the model has no Conv2d or Linear layer to explain")
    return graph


@contextlib.contextmanager
def eval_mode(model: nn.Module):
    """Put ``model`` in eval mode for the block, then restore its train/eval flag."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@contextlib.contextmanager
def folded(model: nn.Module, graph: ModelGraph):
    """Fold each batch norm into the layer before it for the duration of the block.

    Inside, every folded layer computes ``W' x + b'`` with ``W' = W γ/σ`` and
    ``b' = (b − μ) γ/σ + β``, and its batch norm is the identity, so the model's outputs do not
    change (up to rounding) while each Conv/Linear is the whole affine map PatternNet needs.
    Weights, biases and statistics are restored afterwards, also after an exception.
    """
    modules = dict(model.named_modules())
    saved = []
    try:
        with torch.no_grad():
            for info in graph.layers:
                if info.batchnorm is None:
                    continue
                layer, bn = info.module, modules[info.batchnorm]
                saved.append((layer, bn, layer.weight.detach().clone(),
                              None if layer.bias is None else layer.bias.detach().clone(),
                              {k: v.detach().clone() for k, v in bn.state_dict().items()}))
                scale = bn.weight / torch.sqrt(bn.running_var + bn.eps) if bn.affine else \
                    1.0 / torch.sqrt(bn.running_var + bn.eps)
                shift = bn.bias if bn.affine else torch.zeros_like(scale)
                bias = layer.bias if layer.bias is not None else torch.zeros_like(scale)
                new_w = layer.weight * scale.view(-1, *([1] * (layer.weight.dim() - 1)))
                new_b = (bias - bn.running_mean) * scale + shift
                layer.weight.copy_(new_w)
                if layer.bias is None:
                    layer.bias = nn.Parameter(new_b.clone(), requires_grad=False)
                else:
                    layer.bias.copy_(new_b)
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0 - bn.eps)
                if bn.affine:
                    bn.weight.fill_(1.0)
                    bn.bias.zero_()
        with eval_mode(model):
            yield model
    finally:
        with torch.no_grad():
            for layer, bn, w, b, bn_state in reversed(saved):
                layer.weight.copy_(w)
                if b is None:
                    layer.bias = None
                else:
                    layer.bias.copy_(b)
                bn.load_state_dict(bn_state)


def fingerprint(model: nn.Module) -> str:
    """A short sha256 of a model's Conv/Linear/BN names, shapes and values.

    Patterns belong to one set of weights: loading them for another model is an error.
    """
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        if not t.is_floating_point():
            continue
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return h.hexdigest()[:16]
