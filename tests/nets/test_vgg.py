"""Tests for artkit.nets.vgg: named layers, partial forward, preprocessing, weight layout."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from artkit.core.errors import ArtkitError
from artkit.nets.vgg import (VGG_SIZES, VGGConfig, VGGFeatures, caffe_preprocess,
                             from_torchvision, layer_names, load_vgg, to_torchvision,
                             torchvision_indices, torchvision_preprocess)

TINY_WIDTHS = (4, 4, 6, 8, 8)


def _tiny(arch: str = "vgg16", pooling: str = "avg", preprocess: str = "caffe",
          seed: int = 0) -> VGGFeatures:
    torch.manual_seed(seed)
    return VGGFeatures(VGGConfig(arch=arch, pooling=pooling, preprocess=preprocess,
                                 widths=TINY_WIDTHS)).eval()


# ----------------------------------------------------------------------------- layout


def test_vgg16_layer_names_in_order():
    names = layer_names("vgg16")
    assert names[:6] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1", "conv2_1"]
    assert names[-3:] == ["conv5_3", "relu5_3", "pool5"]
    assert sum(n.startswith("conv") for n in names) == 13
    assert [n for n in names if n.startswith("pool")] == [f"pool{i}" for i in range(1, 6)]


def test_vgg19_layer_names_in_order():
    names = layer_names("vgg19")
    assert sum(n.startswith("conv") for n in names) == 16
    assert names[-3:] == ["conv5_4", "relu5_4", "pool5"]
    assert "conv3_4" in names and "conv2_3" not in names


@pytest.mark.parametrize("arch", ["vgg16", "vgg19"])
def test_module_children_follow_layer_names(arch):
    model = _tiny(arch)
    children = [name for name, _ in model.named_children()]
    assert children == ["preprocess"] + layer_names(arch)
    assert model.layer_names == layer_names(arch)


def test_torchvision_indices_match_torchvision_layout():
    assert list(torchvision_indices("vgg16").values()) == [0, 2, 5, 7, 10, 12, 14, 17, 19, 21,
                                                           24, 26, 28]
    assert list(torchvision_indices("vgg19").values()) == [0, 2, 5, 7, 10, 12, 14, 16, 19, 21,
                                                           23, 25, 28, 30, 32, 34]


def test_full_size_configs_have_vgg_widths():
    model = VGGFeatures(VGG_SIZES["vgg16"])
    assert model.conv1_1.weight.shape == (64, 3, 3, 3)
    assert model.conv5_3.weight.shape == (512, 512, 3, 3)
    assert model.out_channels("relu3_1") == 256
    assert model.conv1_1.padding == (1, 1)


@pytest.mark.parametrize("bad", [dict(arch="vgg11"), dict(pooling="min"),
                                 dict(preprocess="bgr"), dict(widths=(4, 4, 4))])
def test_bad_config_raises(bad):
    with pytest.raises(ArtkitError):
        VGGFeatures(VGGConfig(**bad))


# ----------------------------------------------------------------------------- forward


def test_forward_returns_exactly_the_requested_layers():
    model = _tiny()
    x = torch.rand(2, 3, 32, 32)
    out = model(x, ["relu3_1", "conv1_1", "pool2"])
    assert list(out) == ["relu3_1", "conv1_1", "pool2"]
    assert out["conv1_1"].shape == (2, 4, 32, 32)
    assert out["pool2"].shape == (2, 4, 8, 8)
    assert out["relu3_1"].shape == (2, 6, 8, 8)
    assert (out["relu3_1"] >= 0).all()
    assert model(x, []) == {}


def test_forward_stops_at_the_deepest_requested_layer():
    model = _tiny()
    called: list[str] = []
    hooks = [module.register_forward_hook(lambda m, i, o, name=name: called.append(name))
             for name, module in model.named_children()]
    try:
        model(torch.rand(1, 3, 16, 16), ["conv3_1", "relu1_1"])
    finally:
        for hook in hooks:
            hook.remove()
    assert called[-1] == "conv3_1"
    names = layer_names("vgg16")
    assert called == ["preprocess"] + names[: names.index("conv3_1") + 1]
    assert not any(name.startswith(("conv4", "conv5", "relu3")) for name in called)


def test_relu_is_not_in_place():
    model = _tiny()
    out = model(torch.rand(1, 3, 16, 16), ["conv1_1", "relu1_1"])
    assert (out["conv1_1"] < 0).any()
    assert torch.equal(out["relu1_1"], out["conv1_1"].clamp_min(0))


def test_gradient_reaches_the_input():
    model = _tiny()
    for p in model.parameters():
        p.requires_grad_(False)
    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    model(x, ["relu2_1"])["relu2_1"].square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_unknown_layer_names_raise():
    model = _tiny()
    with pytest.raises(ArtkitError, match="conv6_1"):
        model(torch.rand(1, 3, 16, 16), ["relu1_1", "conv6_1"])
    with pytest.raises(ArtkitError, match="list"):
        model(torch.rand(1, 3, 16, 16), "relu1_1")
    with pytest.raises(ArtkitError):
        _tiny("vgg16").out_channels("conv5_4")


@pytest.mark.parametrize("shape", [(3, 16, 16), (1, 1, 16, 16), (1, 4, 16, 16)])
def test_bad_input_shape_raises(shape):
    with pytest.raises(ArtkitError, match="B, 3, H, W"):
        _tiny()(torch.rand(*shape), ["relu1_1"])


@pytest.mark.parametrize("pooling, fn", [("avg", F.avg_pool2d), ("max", F.max_pool2d)])
def test_pooling_kind(pooling, fn):
    model = _tiny(pooling=pooling)
    out = model(torch.rand(1, 3, 16, 16), ["relu1_2", "pool1"])
    assert torch.allclose(out["pool1"], fn(out["relu1_2"], 2, 2))


def test_avg_and_max_pooling_differ_on_the_same_weights():
    avg, mx = _tiny(pooling="avg", seed=3), _tiny(pooling="max", seed=3)
    x = torch.rand(1, 3, 16, 16)
    a, m = avg(x, ["pool1"])["pool1"], mx(x, ["pool1"])["pool1"]
    assert (m >= a - 1e-6).all() and not torch.allclose(a, m)


# ----------------------------------------------------------------------------- preprocessing


def test_caffe_preprocess_exact_values():
    pixel = torch.tensor([1.0, 0.5, 0.0]).view(1, 3, 1, 1)  # RGB
    out = caffe_preprocess(pixel).flatten().tolist()  # BGR
    assert out == pytest.approx([0.0 - 103.939, 127.5 - 116.779, 255.0 - 123.68], abs=1e-4)


def test_torchvision_preprocess_exact_values():
    pixel = torch.tensor([1.0, 0.5, 0.0]).view(1, 3, 1, 1)
    out = torchvision_preprocess(pixel).flatten().tolist()
    expected = [(1.0 - 0.485) / 0.229, (0.5 - 0.456) / 0.224, (0.0 - 0.406) / 0.225]
    assert out == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("preprocess, fn", [("caffe", caffe_preprocess),
                                            ("torchvision", torchvision_preprocess)])
def test_extractor_applies_its_preprocessing(preprocess, fn):
    model = _tiny(preprocess=preprocess)
    with torch.no_grad():  # conv1_1 copies its three input channels (centre tap = 1)
        model.conv1_1.weight.zero_()
        model.conv1_1.bias.zero_()
        for c in range(3):
            model.conv1_1.weight[c, c, 1, 1] = 1.0
    x = torch.tensor([0.2, 0.6, 0.9]).view(1, 3, 1, 1).expand(1, 3, 4, 4).contiguous()
    got = model(x, ["conv1_1"])["conv1_1"][0, :3, 2, 2]
    assert torch.allclose(got, fn(x)[0, :, 2, 2], atol=1e-5)


# ----------------------------------------------------------------------------- weights


@pytest.mark.parametrize("arch", ["vgg16", "vgg19"])
def test_torchvision_layout_round_trip(arch):
    source, target = _tiny(arch, seed=1), _tiny(arch, seed=2)
    state = to_torchvision(source)
    assert len(state) == 2 * sum(n.startswith("conv") for n in layer_names(arch))
    assert all(key.startswith("features.") for key in state)
    state["classifier.0.weight"] = torch.zeros(3, 3)  # ignored
    target.load_state_dict(state)
    x = torch.rand(1, 3, 32, 32)
    last = layer_names(arch)[-1]
    assert torch.equal(source(x, [last])[last], target(x, [last])[last])
    assert set(from_torchvision(state, arch)) == set(source.state_dict())


def test_own_layout_loads_too():
    source, target = _tiny(seed=1), _tiny(seed=2)
    target.load_state_dict(source.state_dict())
    assert torch.equal(source.conv4_2.weight, target.conv4_2.weight)


def test_missing_key_raises():
    state = to_torchvision(_tiny())
    del state["features.28.bias"]
    with pytest.raises(ArtkitError, match="features.28.bias"):
        _tiny().load_state_dict(state)


def test_wrong_shape_raises():
    state = to_torchvision(_tiny())
    state["features.5.weight"] = torch.zeros(6, 4, 3, 3)
    with pytest.raises(ArtkitError, match="conv2_1.weight"):
        _tiny().load_state_dict(state)


def test_vgg19_weights_do_not_fit_vgg16_shapes():
    state = to_torchvision(_tiny("vgg19"))  # index 16 is conv3_4 in vgg19, pool3 in vgg16
    with pytest.raises(ArtkitError):
        _tiny("vgg16").load_state_dict(state)


def test_load_vgg_unknown_name():
    with pytest.raises(ArtkitError, match="vgg11"):
        load_vgg("vgg11")


@pytest.mark.weights
def test_vgg16_hed_real_weights(real_weights):
    real_weights("vgg16-hed")
    model = load_vgg("vgg16-hed", pooling="avg")
    assert model.config.preprocess == "caffe" and model.config.arch == "vgg16"
    assert not model.training
    assert not any(p.requires_grad for p in model.parameters())
    torch.manual_seed(0)
    x = torch.rand(1, 3, 64, 64)
    with torch.inference_mode():
        out = model(x, ["relu1_1", "relu3_1", "relu5_1"])
    assert out["relu5_1"].shape == (1, 512, 4, 4)
    for value in out.values():
        assert torch.isfinite(value).all()
        assert value.abs().sum() > 0
