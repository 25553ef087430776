"""artkit's gradient, input × gradient and LRP-ε against independent implementations.

captum (gradient: ``Saliency``; input × gradient: ``InputXGradient``) and zennit (LRP-ε: the
``Epsilon`` rule on every Conv2d / Linear, its ``Norm`` rule on average pooling and residual sums,
batch norms folded into the convolution before them the same way for both) on the real VGG16-HED and EfficientNet-Lite0, in float64; equal within
1e-4 of the map's largest value. Both are test-only dependencies (the ``test`` extra); zennit's
module for torchvision's ResNets imports torchvision, which artkit does not need: a stub stands
in for it when it is absent (its canonizers are not used here).

artkit's "times the input" is measured from the input the preprocessing maps to zero, so
captum's input × gradient is taken of the model as a function of ``x − reference``, and zennit's
relevance, which reaches the raw input through the preprocessing's affine map, is that map's
slope times artkit's.
"""

import sys
import types

import pytest
import torch

from artkit.explain import attribute, trace
from artkit.explain.graph import folded
from artkit.explain.attribute import input_reference

pytestmark = pytest.mark.weights


def _zennit():
    try:
        import torchvision  # noqa: F401
    except ImportError:
        tv = types.ModuleType("torchvision")
        models = types.ModuleType("torchvision.models")
        resnet = types.ModuleType("torchvision.models.resnet")
        resnet.Bottleneck = type("Bottleneck", (torch.nn.Module,), {})
        resnet.BasicBlock = type("BasicBlock", (torch.nn.Module,), {})
        tv.models, models.resnet = models, resnet
        sys.modules.update({"torchvision": tv, "torchvision.models": models,
                            "torchvision.models.resnet": resnet})
    return pytest.importorskip("zennit")


def _photo(size):
    skimage = pytest.importorskip("skimage")
    from PIL import Image

    from artkit.nets.efficientnet import preprocess_pil

    return preprocess_pil(Image.fromarray(skimage.data.chelsea()), size).double()


def _close(a, b):
    a, b = a.detach(), b.detach()
    tol = 1e-4 * float(b.abs().max())
    assert float((a - b).abs().max()) <= tol, float((a - b).abs().max()) / float(b.abs().max())


def _check_captum(model, x, t):
    captum_attr = pytest.importorskip("captum.attr")
    ref = input_reference(model, x)
    _close(attribute(model, x, "gradient", target=t),
           captum_attr.Saliency(model).attribute(x, target=t, abs=False))
    shifted = lambda u: model(u + ref)  # noqa: E731
    _close(attribute(model, x, "input_x_gradient", target=t),
           captum_attr.InputXGradient(shifted).attribute(x - ref, target=t))


def _check_zennit(model, x, t, slope):
    """LRP-ε by zennit: the ε rule on Conv2d / Linear, zennit's Norm rule (relevance in
    proportion to the inputs) on average pooling and on residual sums — artkit's residual
    module is routed through zennit's own ``Sum`` layer for the duration. Batch norms are
    folded the same way for both (artkit's ``folded``, itself checked exact elsewhere)."""
    _zennit()
    from zennit.attribution import Gradient
    from zennit.composites import LayerMapComposite
    from zennit.layer import Sum
    from zennit.rules import Epsilon, Norm

    from artkit.nets.efficientnet import Residual

    composite = LayerMapComposite([(torch.nn.Conv2d, Epsilon(1e-6)), (torch.nn.Linear, Epsilon(1e-6)),
                                   (torch.nn.AdaptiveAvgPool2d, Norm(1e-30)), (Sum, Norm(1e-30))])
    ours = attribute(model, x, "lrp_epsilon", target=t, eps=1e-6)
    graph = trace(model, x)
    residuals = [m for m in model.modules() if isinstance(m, Residual)]
    for m in residuals:
        m.zsum = Sum()
    original = Residual.forward
    Residual.forward = lambda self, h, skip: self.zsum(torch.stack([h, skip], dim=-1))
    try:
        with folded(model, graph), Gradient(model, composite) as attributor:
            # LRP starts from the output's value (artkit's relevance sums to it), zennit from
            # whatever it is given: give it the target's value
            with torch.no_grad():
                start = model(x) * torch.eye(out_dim(model, x), dtype=x.dtype)[[t]]
            out, relevance = attributor(x, start)
    finally:
        Residual.forward = original
        for m in residuals:
            del m.zsum
    _close(ours * slope, relevance.detach())


def out_dim(model, x):
    with torch.no_grad():
        return model(x).shape[1]


def test_efficientnet_lite0_against_captum_and_zennit(real_weights):
    real_weights("efficientnet-lite0")
    from artkit.nets.efficientnet import load_efficientnet

    model = load_efficientnet("cpu").double().eval()
    x = _photo(128)
    t = int(model(x).argmax())
    _check_captum(model, x, t)
    _check_zennit(model, x, t, 255.0 / 128.0)


def test_vgg16_hed_against_captum_and_zennit(real_weights):
    real_weights("vgg16-hed")
    from artkit.explain import load_model

    model = load_model("vgg16-hed").model.double().eval()
    x = _photo(64)
    t = int(model(x).argmax())
    _check_captum(model, x, t)
    _check_zennit(model, x, t, 255.0)
