import json
from dataclasses import dataclass, field
from typing import Literal, Optional

import pytest
import torch

from artkit.core.errors import ArtkitError
from artkit.core.manifest import build_manifest, manifest_path, write_manifest
from artkit.core.presets import load_preset, validate
from artkit.core.progress import Collector, report, track
from artkit.core.runtime import make_generator, resolve_device


@dataclass
class Inner:
    steps: int = 2


@dataclass
class Schema:
    name: str = "x"
    weight: float = 1.0
    layers: list[str] = field(default_factory=list)
    init: Literal["noise", "content"] = "noise"
    size: Optional[tuple[int, int]] = None
    inner: Inner = field(default_factory=Inner)


def test_preset_valid_and_errors(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('name = "a"\nweight = 3\nlayers = ["3_1", "4_1"]\ninit = "content"\n'
                    'size = [4, 5]\n[inner]\nsteps = 7\n')
    assert load_preset(good, "doodle", Schema)["inner"]["steps"] == 7

    typo = tmp_path / "typo.toml"
    typo.write_text("wieght = 2.0\n")
    with pytest.raises(ArtkitError, match=r"typo.toml: unknown key 'wieght'.*weight"):
        load_preset(typo, "doodle", Schema)

    wrong = tmp_path / "wrong.toml"
    wrong.write_text('weight = "heavy"\n')
    with pytest.raises(ArtkitError, match=r"wrong.toml: key 'weight' should be a number"):
        load_preset(wrong, "doodle", Schema)
    with pytest.raises(ArtkitError, match="should be one of"):
        validate({"init": "zeros"}, Schema, "t")
    with pytest.raises(ArtkitError, match="inner.steps"):
        validate({"inner": {"steps": 1.5}}, Schema, "t")
    bad = tmp_path / "bad.toml"
    bad.write_text("weight = = 2")
    with pytest.raises(ArtkitError, match="not valid TOML"):
        load_preset(bad, "doodle", Schema)
    with pytest.raises(ArtkitError, match="unknown doodle preset 'nope'"):
        load_preset("nope", "doodle", Schema)


def test_devices():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda")
    with pytest.raises(ArtkitError, match="unknown device"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ArtkitError, match="CUDA is not available"):
            resolve_device("cuda:1")


def test_generator_reproducible():
    a = torch.rand(4, generator=make_generator(7))
    b = torch.rand(4, generator=make_generator(7))
    assert torch.equal(a, b)
    assert not torch.equal(a, torch.rand(4, generator=make_generator(8)))


def test_progress():
    c = Collector()
    assert list(track([1, 2, 3], c, "t")) == [1, 2, 3]
    assert [e.completed for e in c.events] == [0, 1, 2, 3] and c.events[-1].done
    report(None, "x", 1)  # no callback: nothing happens
    report(c, "y", 1, 2, loss=0.5)
    assert c.events[-1].metrics == {"loss": 0.5}


def test_manifest(tmp_path):
    m = build_manifest("artkit test", {"path": tmp_path, "n": 3}, seed=1, device="cpu",
                       weights={"vgg16-hed": "abc"}, wall_time=1.23456)
    assert m["params"]["path"] == str(tmp_path) and m["wall_time_s"] == 1.235
    assert {"artkit", "torch", "python"} <= set(m["versions"])
    out = tmp_path / "out.png"
    p = write_manifest(out, m)
    assert p == tmp_path / "out.json" and json.loads(p.read_text())["seed"] == 1
    assert manifest_path(tmp_path / "story.json").name == "story.manifest.json"


def test_atomic_outputs_get_umask_permissions(tmp_path):
    import os

    from artkit.core.files import atomic_write_text

    old = os.umask(0o022)
    try:
        p = atomic_write_text(tmp_path / "out.txt", "hi")
    finally:
        os.umask(old)
    assert (p.stat().st_mode & 0o777) == 0o644
