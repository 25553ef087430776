"""The localisation benchmark's parts: box scores, baselines, composites and the object sets."""

import pytest
import torch
from PIL import Image

from artkit.core.errors import ArtkitError
from artkit.explain import method_names  # registers the methods
from artkit.explain.localise import (UNSEEN_OBJECTS, ObjectCrop, localisation, make_composites,
                                     scores, unseen_objects)


def test_scores_energy_share_and_pointing_hit():
    heat = torch.zeros(3, 20, 20)
    heat[:, 5:10, 5:10] = 1.0
    assert scores(heat, (5, 5, 10, 10), signed=True) == (1.0, True)
    heat[:, 0, 0] = 100.0  # the maximum leaves the box; most of the mass too
    energy, hit = scores(heat, (5, 5, 10, 10), signed=True)
    assert not hit and energy == pytest.approx(25 / 125)
    neg = -heat  # signed maps count positive evidence only; unsigned ones their magnitude
    assert scores(neg, (5, 5, 10, 10), signed=True) == (0.0, False)
    assert scores(neg, (5, 5, 10, 10), signed=False)[0] == pytest.approx(25 / 125)


def _red_detector(x):  # class 1 when red dominates somewhere, else class 0
    red = (x[:, 0] - x[:, 1:].mean(1)).amax((1, 2))
    return torch.stack([-red, red], 1)


def test_composites_hold_the_object_in_the_box_and_methods_beat_the_baselines():
    obj = ObjectCrop("red", Image.new("RGB", (40, 30), (255, 0, 0)), frozenset({1}))
    bg = Image.new("RGB", (64, 64), (40, 120, 40))
    comps = make_composites([obj], [bg], _red_detector, 12, size=64,
                            generator=torch.Generator().manual_seed(0))
    assert len(comps) == 12 and all(c.target == 1 for c in comps)
    for c in comps:
        t, l, b, r = c.box
        assert torch.allclose(c.x[:, t:b, l:r], torch.tensor([1.0, 0, 0])[:, None, None])

    def redness(x, target, method):  # a "method" that finds the object exactly
        return (x[0, 0] - x[0, 1:].mean(0)).clamp(min=0)[None]

    assert "gradient" in method_names()
    out = {s.method: s for s in localisation(redness, comps, ["gradient"])}
    assert out["gradient"].energy == pytest.approx(1.0) and out["gradient"].hits == 1.0
    area = sum((c.box[2] - c.box[0]) * (c.box[3] - c.box[1]) / 64 ** 2 for c in comps) / 12
    assert out["random"].energy == pytest.approx(area) and out["random"].energy < 0.5


def test_unseen_objects_read_their_boxes_and_name_the_fix_when_missing(tmp_path):
    with pytest.raises(ArtkitError, match="--gather"):
        unseen_objects(tmp_path)
    for name, box, _ in UNSEEN_OBJECTS:
        Image.new("RGB", (box[2] + 3, box[3] + 5), (1, 2, 3)).save(tmp_path / name)
    objs = unseen_objects(tmp_path)
    assert [o.name for o in objs] == [n.rsplit(".", 1)[0] for n, _, _ in UNSEEN_OBJECTS]
    for o, (_, box, classes) in zip(objs, UNSEEN_OBJECTS):
        assert o.image.size == (box[2] - box[0], box[3] - box[1]) and o.classes == classes
