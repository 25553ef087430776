"""Tests for artkit.nets.efficientnet and artkit.nets.imagenet."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from artkit.core.errors import ArtkitError
from artkit.nets import imagenet
from artkit.nets.efficientnet import (EFFICIENTNET_SIZES, EfficientNetLite0, LitePreprocess,
                                      MBConv, Residual, SamePad2d, load_checkpoint,
                                      load_efficientnet, preprocess_pil)


def _tiny(seed: int = 0) -> EfficientNetLite0:
    torch.manual_seed(seed)
    return EfficientNetLite0(EFFICIENTNET_SIZES["tiny"]).eval()


# ----------------------------------------------------------------------------- structure


def test_tiny_forward_and_features_shapes():
    model = _tiny()
    x = torch.rand(2, 3, 32, 32)
    assert model(x).shape == (2, 10)
    assert model.features(x).shape == (2, 16)


def test_lite0_layout_matches_checkpoint_keys():
    model = EfficientNetLite0(EFFICIENTNET_SIZES["lite0"])
    keys = set(model.state_dict())
    assert len(keys) == 296
    assert {"_conv_stem.weight", "_bn0.running_var", "_blocks.0._depthwise_conv.weight",
            "_blocks.1._expand_conv.weight", "_blocks.15._project_conv.weight",
            "_blocks.15._bn2.num_batches_tracked", "_conv_head.weight", "_bn1.bias",
            "_fc.weight", "_fc.bias"} <= keys
    assert "_blocks.0._expand_conv.weight" not in keys
    assert model._fc.in_features == 1280 and model._fc.out_features == 1000
    assert all(m.eps == 1e-3 for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_lite0_block_layout():
    model = EfficientNetLite0(EFFICIENTNET_SIZES["lite0"])
    blocks = list(model._blocks)
    assert len(blocks) == 16
    got = [(b._depthwise_conv.kernel_size[0], b._depthwise_conv.stride[0],
            b._project_conv.out_channels) for b in blocks]
    expected = ([(3, 1, 16)] + [(3, 2, 24), (3, 1, 24)] + [(5, 2, 40), (5, 1, 40)]
                + [(3, 2, 80)] + [(3, 1, 80)] * 2 + [(5, 1, 112)] * 3
                + [(5, 2, 192)] + [(5, 1, 192)] * 3 + [(3, 1, 320)])
    assert got == expected
    assert sum(b.has_residual for b in blocks) == 9
    assert not blocks[0].has_expand and all(b.has_expand for b in blocks[1:])
    assert not any(isinstance(m, torch.nn.SiLU) for m in model.modules())


def test_residual_is_a_visible_module_that_runs():
    model = _tiny()
    calls = []
    for name, module in model.named_modules():
        if isinstance(module, Residual):
            module.register_forward_hook(lambda m, i, o, name=name: calls.append(name))
    model(torch.rand(1, 3, 32, 32))
    assert calls == ["_blocks.0._residual", "_blocks.2._residual"]  # the two 4->4 / 6->6 blocks


def test_mbconv_residual_adds_the_input():
    block = MBConv(4, 4, expand=2, kernel=3, stride=1, bn_eps=1e-3).eval()
    with torch.no_grad():
        block._bn2.weight.zero_()
        block._bn2.bias.zero_()
    x = torch.rand(1, 4, 8, 8)
    assert torch.equal(block(x), x)


@pytest.mark.parametrize("size, kernel, expected", [(8, 3, (0, 1)), (8, 5, (1, 2)),
                                                    (7, 3, (1, 1)), (7, 5, (2, 2))])
def test_same_pad_is_tensorflow_same(size, kernel, expected):
    pad = SamePad2d(kernel, 2)
    x = torch.ones(1, 1, size, size)
    y = pad(x)
    before, after = expected
    assert y.shape[-1] == size + before + after
    assert y[0, 0, size // 2, :before].sum() == 0 and y[0, 0, size // 2, before] == 1
    assert y[0, 0, size // 2, y.shape[-1] - after:].sum() == 0
    conv_out = torch.nn.functional.conv2d(y, torch.ones(1, 1, kernel, kernel), stride=2)
    assert conv_out.shape[-1] == -(-size // 2)


def test_stride_two_convs_are_preceded_by_same_padding():
    model = _tiny()
    names = [name for name, _ in model.named_modules()]
    assert names.index("_stem_pad") + 1 == names.index("_conv_stem")
    for i, block in enumerate(model._blocks):
        if block._depthwise_conv.stride[0] == 2:
            assert isinstance(block._depthwise_pad, SamePad2d)
            assert block._depthwise_conv.padding == (0, 0)
            assert names.index(f"_blocks.{i}._depthwise_pad") + 1 == names.index(
                f"_blocks.{i}._depthwise_conv")


def test_preprocess_exact_values():
    x = torch.tensor([0.0, 0.5, 1.0]).view(1, 3, 1, 1)
    out = LitePreprocess()(x).flatten().tolist()
    assert out == pytest.approx([-127 / 128, 0.5 / 128, 1.0], abs=1e-7)


@pytest.mark.parametrize("bad", [torch.rand(3, 32, 32), torch.rand(1, 1, 32, 32),
                                 torch.zeros(1, 3, 32, 32, dtype=torch.uint8)])
def test_bad_input_raises(bad):
    with pytest.raises(ArtkitError):
        _tiny()(bad)


def test_top_k_on_tiny_model():
    model = _tiny()
    result = model.top_k(torch.rand(2, 3, 32, 32), k=3)
    assert len(result) == 2 and all(len(row) == 3 for row in result)
    for row in result:
        probs = [p for _, _, p in row]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
        assert all(name == f"class {i}" for i, name, _ in row)
    with pytest.raises(ArtkitError):
        model.top_k(torch.rand(1, 3, 32, 32), k=11)


def test_load_checkpoint_errors():
    model = _tiny()
    state = _tiny(seed=1).state_dict()
    load_checkpoint(model, state)
    assert torch.equal(model._fc.weight, state["_fc.weight"])
    broken = dict(state)
    del broken["_blocks.0._bn1.running_mean"]
    with pytest.raises(ArtkitError, match="missing"):
        load_checkpoint(model, broken)
    wrong = dict(state)
    wrong["_fc.weight"] = torch.zeros(10, 17)
    with pytest.raises(ArtkitError, match="_fc.weight"):
        load_checkpoint(model, wrong)


# ----------------------------------------------------------------------------- preprocess_pil


def test_preprocess_pil_resizes_and_centre_crops():
    arr = np.zeros((200, 300, 3), dtype=np.uint8)
    arr[:, 130:170] = 255  # a white vertical band in the middle
    x = preprocess_pil(Image.fromarray(arr), size=32)
    assert x.shape == (1, 3, 32, 32) and x.dtype == torch.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert x[0, :, 16, 16].min() > 0.9 and x[0, :, 16, 0].max() < 0.1


def test_preprocess_pil_accepts_arrays_and_grey():
    assert preprocess_pil(np.full((40, 50, 3), 128, np.uint8), size=24).shape == (1, 3, 24, 24)
    grey = preprocess_pil(Image.new("L", (40, 40), 64), size=16)
    assert grey.shape == (1, 3, 16, 16)
    assert torch.allclose(grey, torch.full_like(grey, 64 / 255), atol=1e-6)
    with pytest.raises(ArtkitError):
        preprocess_pil(np.zeros((8, 8, 3), np.float32))


# ----------------------------------------------------------------------------- imagenet / import


def test_imagenet_class_names():
    names = imagenet.class_names()
    assert len(names) == 1000 and len(set(names)) >= 998
    assert names[0] == "tench" and names[967] == "espresso"
    assert names[151] == "Chihuahua" and names[268] == "Mexican hairless"
    assert [names[i] for i in imagenet.CAT_CLASSES] == ["tabby", "tiger cat", "Persian cat",
                                                        "Siamese cat", "Egyptian cat"]
    assert len(imagenet.DOG_CLASSES) == 118
    assert imagenet.class_name(285) == "Egyptian cat"
    with pytest.raises(ArtkitError):
        imagenet.class_name(1000)


def test_importing_nets_is_lazy():
    code = ("import sys, artkit.nets; "
            "assert 'torch' not in sys.modules and 'artkit.weights' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
    import artkit.nets
    import artkit.nets.vgg

    assert artkit.nets.load_vgg is artkit.nets.vgg.load_vgg
    assert "load_efficientnet" in dir(artkit.nets)
    with pytest.raises(AttributeError):
        artkit.nets.no_such_thing  # noqa: B018


# ----------------------------------------------------------------------------- real weights


@pytest.fixture
def lite0(real_weights):
    real_weights("efficientnet-lite0")
    return load_efficientnet()


@pytest.mark.weights
def test_checkpoint_loads_strictly(state_dict_or_skip):
    state = state_dict_or_skip("efficientnet-lite0")
    model = EfficientNetLite0(EFFICIENTNET_SIZES["lite0"])
    model.load_state_dict(state, strict=True)


@pytest.mark.weights
def test_chelsea_is_a_cat(lite0):
    skimage_data = pytest.importorskip("skimage.data")
    x = preprocess_pil(skimage_data.chelsea())
    top = lite0.top_k(x, k=5)[0]
    assert top[0][0] in imagenet.CAT_CLASSES
    assert sum(p for i, _, p in top if i in imagenet.CAT_CLASSES) > 0.8


@pytest.mark.weights
def test_coffee_is_espresso(lite0):
    skimage_data = pytest.importorskip("skimage.data")
    top = lite0.top_k(preprocess_pil(skimage_data.coffee()), k=5)[0]
    assert top[0][:2] == (967, "espresso") and top[0][2] > 0.8


@pytest.mark.weights
def test_features_are_1280_d(lite0):
    with torch.inference_mode():
        f = lite0.features(torch.rand(2, 3, 224, 224))
    assert f.shape == (2, 1280) and torch.isfinite(f).all() and (f >= 0).all()
    assert not lite0.training and not any(p.requires_grad for p in lite0.parameters())
