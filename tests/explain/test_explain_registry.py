"""The method registry (one declaration, every list reads it), SmoothGrad as a wrapper, and
patterns files checked on load."""

import json

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from artkit.cli import app
from artkit.core.artifacts import save_artifact
from artkit.core.errors import ArtkitError
from artkit.explain import (Method, Patterns, attribute, fit_patterns, get_method, method_names,
                            register_method)
from artkit.explain.methods import _REGISTRY


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(3 * 36, 4)).eval()


def test_smooth_wraps_any_method_and_is_reproducible():
    net = _net()
    x = torch.rand(2, 1, 6, 6)
    pats = fit_patterns(net, [torch.rand(64, 1, 6, 6)], positions=None)
    g = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    a = attribute(net, x, "smooth:patternattribution", patterns=pats, generator=g())
    b = attribute(net, x, "smooth:patternattribution", patterns=pats, generator=g())
    assert torch.equal(a, b) and a.shape == x.shape
    assert not torch.equal(a, attribute(net, x, "patternattribution", patterns=pats))
    # smoothgrad is smooth:gradient, and the average of 16 noisy gradients by hand
    sg = attribute(net, x, "smoothgrad", generator=g())
    assert torch.equal(sg, attribute(net, x, "smooth:gradient", generator=g()))
    gen = g()
    t = net(x).argmax(1)
    span = x.amax((1, 2, 3), keepdim=True) - x.amin((1, 2, 3), keepdim=True)
    ref = torch.zeros_like(x)
    for _ in range(16):
        xi = (x + torch.randn(x.shape, generator=gen) * 0.15 * span).requires_grad_(True)
        (gi,) = torch.autograd.grad(net(xi)[torch.arange(2), t].sum(), xi)
        ref += gi / 16
    assert torch.allclose(sg, ref, atol=1e-6)
    assert get_method("smooth:lrp_epsilon").signed and not get_method("smooth:patternnet").signed
    with pytest.raises(ArtkitError, match="needs fitted patterns"):
        attribute(net, x, "smooth:patternnet")
    with pytest.raises(ArtkitError, match="unknown attribution method 'smooth:nope'"):
        get_method("smooth:nope")


def test_a_registered_method_appears_everywhere():
    register_method(Method("abs_gradient", lambda c: c.grad().abs(), signed=False,
                           help="the gradient's magnitude"))
    try:
        assert "abs_gradient" in method_names()
        net = _net()
        assert (attribute(net, torch.rand(1, 1, 6, 6), "abs_gradient") >= 0).all()
        res = CliRunner().invoke(app, ["explain", "methods", "--json"])
        assert res.exit_code == 0, res.output
        rows = {r["method"]: r for r in json.loads(res.stdout)}
        assert rows["abs_gradient"]["map"] == "magnitude"
        assert rows["patternnet"]["patterns"] == "yes" and rows["patternnet"]["drawn as"] == "signal"
    finally:
        _REGISTRY.pop("abs_gradient", None)


def _patterns_file(tmp_path, **meta_changes):
    net = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2))
    pats = fit_patterns(net, [torch.randn(64, 5)])
    tensors = pats.tensors("float32")
    meta = {"fingerprint": pats.fingerprint, "rectified": pats.rectified,
            "samples": pats.samples, "meta": pats.meta, "dtype": "float32"}
    for k, v in meta_changes.items():
        if isinstance(v, torch.Tensor):
            tensors[k] = v
        else:
            meta[k] = v
    path = tmp_path / "p.safetensors"
    save_artifact(path, tensors, kind="patterns", meta=meta, force=True)
    return path


@pytest.mark.parametrize("change, message", [
    ({"fingerprint": ""}, "fingerprint"),
    ({"rectified": {"0": "yes"}}, "rectified"),
    ({"rectified": {"9": True}}, "without patterns"),
    ({"samples": {"0": -3}}, "samples"),
    ({"meta": [1, 2]}, "metadata 'meta' is list"),
    ({"positive/0": torch.ones(3, 5)}, "does not match"),
    ({"linear/0": torch.full((4, 5), float("nan"))}, "NaN"),
    ({"weird": torch.ones(2)}, "unexpected tensor"),
])
def test_damaged_patterns_files_are_refused(tmp_path, change, message):
    with pytest.raises(ArtkitError, match=message):
        Patterns.load(_patterns_file(tmp_path, **change))


def test_patterns_roundtrip_in_every_dtype(tmp_path):
    net = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2))
    pats = fit_patterns(net, [torch.randn(64, 5)])
    for dtype, tol in (("float32", 0), ("float16", 1e-2), ("int8", 2e-2)):
        back = Patterns.load(pats.save(tmp_path / f"{dtype}.safetensors", dtype=dtype))
        for k, a in pats.linear.items():
            assert torch.allclose(back.linear[k], a, atol=tol * float(a.abs().max()) + 1e-7)
        assert back.rectified == pats.rectified and back.fingerprint == pats.fingerprint
    with pytest.raises(ArtkitError, match="already exists"):
        pats.save(tmp_path / "int8.safetensors", force=False)
