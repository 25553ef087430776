"""PatternNet's estimators and backward pass against the paper's toy example and slow references."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from artkit.core.errors import ArtkitError
from artkit.explain import Patterns, attribute, fit_patterns
from artkit.explain.evaluate import estimator_quality
from artkit.explain.graph import folded, trace


def _toy(n=100_000, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.rand(n, generator=g) * 2 - 1
    eps = torch.randn(n, generator=g)
    x = y[:, None] * torch.tensor([1.0, 0.0]) + eps[:, None] * torch.tensor([1.0, 1.0])
    model = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, -1.0]]))
    return model, x


def test_paper_toy_example():
    model, x = _toy()
    pats = fit_patterns(model, x.split(10_000), estimator="linear")
    a = pats.linear[""][0]
    assert torch.allclose(a, torch.tensor([1.0, 0.0]), atol=0.01)
    # the gradient is the weight and points at the distractor too
    assert torch.equal(attribute(model, x[:4], "gradient")[0], torch.tensor([1.0, -1.0]))
    pa = attribute(model, x[:4], "patternattribution", patterns=pats)
    assert torch.allclose(pa, torch.tensor([1.0, 0.0]).expand(4, 2), atol=0.01)
    pn = attribute(model, x[:4], "patternnet", patterns=pats)
    assert torch.allclose(pn, torch.tensor([1.0, 0.0]).expand(4, 2), atol=0.01)
    # signal-estimator quality on fresh data: ρ(S_a) ≈ 1, ρ(S_w) = 1 − 1/√13 = 0.7226
    _, held = _toy(40_000, seed=1)
    q = estimator_quality(model, held.split(10_000), pats, rows=40_000, neurons=1)[""]
    assert q["S_a"] > 0.98
    assert q["S_w"] == pytest.approx(1 - 13 ** -0.5, abs=0.02)
    assert q["random"] < q["S_a"]


def test_white_inputs_give_filter_pattern():
    """With white inputs cov(x, y) = w, so the linear pattern is w / wᵀw exactly."""
    torch.manual_seed(0)
    model = nn.Linear(6, 3, bias=True)
    x = torch.randn(200_000, 6)
    pats = fit_patterns(model, x.split(20_000), estimator="linear")
    w = model.weight.detach()
    expected = w / (w * w).sum(1, keepdim=True)
    assert torch.allclose(pats.linear[""], expected, atol=0.02 * expected.abs().max())


def _reference_patterns(conv: nn.Conv2d, x: torch.Tensor):
    """Slow float64 reference: loop over output channels and positions with F.unfold."""
    x = x.double()
    w = conv.weight.detach().double()
    b = conv.bias.detach().double()
    cols = F.unfold(x, conv.kernel_size, padding=conv.padding, stride=conv.stride)  # (B, Cin*k*k, L)
    g = conv.groups
    k_out = w.shape[0]
    lin, pos = torch.zeros_like(w), torch.zeros_like(w)
    cin_g = x.shape[1] // g
    dg = cin_g * conv.kernel_size[0] * conv.kernel_size[1]
    for k in range(k_out):
        grp = k // (k_out // g)
        xs = cols[:, grp * dg:(grp + 1) * dg, :].permute(0, 2, 1).reshape(-1, dg)  # (R, Dg)
        wk = w[k].reshape(-1)
        y = xs @ wk
        z = y + b[k]
        for mask, out in ((torch.ones_like(z, dtype=torch.bool), lin), (z > 0, pos)):
            xm, ym = xs[mask], y[mask]
            cov = ((xm - xm.mean(0)) * (ym - ym.mean())[:, None]).mean(0)
            out[k] = (cov / (wk @ cov)).reshape(w[k].shape)
    return lin, pos


@pytest.mark.parametrize("groups,stride", [(1, 1), (2, 2), (4, 1)])
def test_conv_patterns_match_slow_reference(groups, stride):
    torch.manual_seed(1)
    conv = nn.Conv2d(4, 8, 3, padding=1, stride=stride, groups=groups)
    net = nn.Sequential(conv, nn.ReLU(), nn.Flatten(), nn.LazyLinear(3)) if False else nn.Sequential(conv, nn.ReLU())
    x = torch.randn(24, 4, 9, 9) + 0.3
    x[:, 1] += 0.5 * x[:, 0]  # correlated channels, so patterns differ from the filters
    # a head so the model returns (B, K); its own patterns are not compared here
    model = nn.Sequential(net, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2))
    pats = fit_patterns(model, x.split(8), positions=None)
    lin, pos = _reference_patterns(conv, x)
    assert torch.allclose(pats.linear["0.0"].double(), lin, atol=1e-4, rtol=1e-3)
    assert torch.allclose(pats.positive["0.0"].double(), pos, atol=1e-4, rtol=1e-3)
    assert pats.rectified == {"0.0": True, "3": False}


def test_backward_matches_manual_reference():
    """PatternNet / PatternAttribution of conv → ReLU → max-pool → linear, by hand in float64."""
    torch.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(3 * 4 * 4, 5)).double()
    data = torch.randn(64, 2, 8, 8, dtype=torch.float64)
    pats = fit_patterns(model, data.split(16), positions=None)
    x = data[:1].clone().requires_grad_(True)
    conv, lin = model[0], model[4]
    for method in ("patternnet", "patternattribution"):
        a_conv = pats.pattern("0").double()
        a_lin = pats.pattern("4").double()
        if method == "patternattribution":
            a_conv, a_lin = a_conv * conv.weight.detach(), a_lin * lin.weight.detach()
        z = conv(x)
        h = F.relu(z)
        p, idx = F.max_pool2d(h, 2, return_indices=True)
        s = a_lin[2]  # target 2: (48,)
        s = s.view(1, 3, 4, 4)
        s = F.max_unpool2d(s, idx, 2, output_size=h.shape[-2:]) * (z > 0)
        expected = F.conv_transpose2d(s, a_conv, padding=1)
        got = attribute(model, x.detach(), method, target=2, patterns=pats).double()
        expected = expected.detach()
        assert torch.allclose(got, expected, atol=1e-5)


def test_batchnorm_folding_is_exact_and_restored():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1, bias=False), nn.BatchNorm2d(6), nn.ReLU6(),
                          nn.Conv2d(6, 6, 3, padding=1, groups=6), nn.BatchNorm2d(6), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 4), nn.BatchNorm1d(4))
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            m.running_mean.normal_()
            m.running_var.uniform_(0.3, 3)
            m.weight.data.uniform_(0.5, 2)
            m.bias.data.normal_()
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(5, 3, 10, 10)
    model.eval()
    ref = model(x)
    model.train()
    graph = trace(model, x[:1])
    assert [(i.name, i.batchnorm, i.rectified) for i in graph.layers] == [
        ("0", "1", True), ("3", "4", True), ("8", "9", False)]
    with folded(model, graph):
        assert torch.allclose(model(x), ref, atol=1e-5)
        assert model[0].bias is not None
    assert model.training and model[0].bias is None
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    pats = fit_patterns(model, [x])
    for method in ("patternnet", "patternattribution", "lrp_epsilon", "smoothgrad"):
        a = attribute(model, x, method, patterns=pats)
        assert a.shape == x.shape and torch.isfinite(a).all()
    assert all(torch.equal(before[k], model.state_dict()[k]) for k in before)


def test_lrp_zero_equals_input_times_gradient_without_biases():
    torch.manual_seed(4)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 3, bias=False))
    x = torch.randn(2, 3, 8, 8)
    lrp = attribute(model, x, "lrp_epsilon", eps=1e-9)
    ixg = attribute(model, x, "input_x_gradient")
    assert torch.allclose(lrp, ixg, atol=1e-4)
    # relevance is conserved: it sums to the target logit
    out = model(x)
    assert torch.allclose(lrp.sum((1, 2, 3)), out.max(1).values, rtol=1e-3, atol=1e-4)


def test_efficientnet_shape_with_residuals():
    from artkit.nets.efficientnet import EFFICIENTNET_SIZES, EfficientNetLite0

    torch.manual_seed(5)
    model = EfficientNetLite0(EFFICIENTNET_SIZES["tiny"]).eval()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_var.uniform_(0.5, 2)
    x = torch.rand(6, 3, 32, 32)
    pats = fit_patterns(model, x.split(3))
    graph = trace(model, x[:1])
    proj = [i for i in graph.layers if i.name.endswith("_project_conv")]
    assert proj and not any(i.rectified for i in proj)  # they feed the residual additions
    ref = model(x)
    for method in ("patternnet", "patternattribution", "gradient", "input_x_gradient", "lrp_epsilon"):
        a = attribute(model, x[:2], method, patterns=pats)
        assert a.shape == (2, 3, 32, 32) and torch.isfinite(a).all() and a.abs().sum() > 0
    assert torch.equal(model(x), ref)


def test_bad_inputs_are_clear():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.GELU(), nn.Flatten(), nn.Linear(4 * 36, 2))
    with pytest.raises(ArtkitError, match="layer '1' is a GELU"):
        fit_patterns(model, [torch.randn(2, 3, 8, 8)])
    ok = nn.Sequential(nn.Flatten(), nn.Linear(12, 2))
    with pytest.raises(ArtkitError, match="patternnet needs fitted patterns"):
        attribute(ok, torch.randn(1, 12), "patternnet")
    with pytest.raises(ArtkitError, match="unknown attribution method 'deconv'"):
        attribute(ok, torch.randn(1, 12), "deconv")
    with pytest.raises(ArtkitError, match="target 5 is out of range"):
        attribute(ok, torch.randn(1, 12), "gradient", target=5)
    with pytest.raises(ArtkitError, match="no data"):
        fit_patterns(ok, [])
    with pytest.raises(ArtkitError, match="unknown estimator"):
        fit_patterns(ok, [torch.randn(2, 12)], estimator="quadratic")


def test_patterns_roundtrip_and_fingerprint(tmp_path):
    torch.manual_seed(6)
    model = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2))
    pats = fit_patterns(model, [torch.randn(256, 5)])
    path = pats.save(tmp_path / "p.safetensors")
    back = Patterns.load(path)
    assert back.rectified == pats.rectified and back.fingerprint == pats.fingerprint
    assert torch.allclose(back.linear["0"], pats.linear["0"])
    back.check(model)
    other = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2))
    with pytest.raises(ArtkitError, match="fitted on another model"):
        attribute(other, torch.randn(1, 5), "patternnet", patterns=back)
    (tmp_path / "junk.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(ArtkitError, match="not a readable patterns file"):
        Patterns.load(tmp_path / "junk.safetensors")
    with pytest.raises(ArtkitError, match="does not exist"):
        Patterns.load(tmp_path / "missing.safetensors")
