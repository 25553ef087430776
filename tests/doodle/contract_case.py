"""The contract case of ``artkit doodle`` (see tests/test_contract.py): the neural engine with
the real vgg16-hed network on a 32x24 doodle of the demo scene, two iterations."""

from __future__ import annotations

from pathlib import Path

from test_contract import ContractCase

from artkit.doodle.examples import get_example
from artkit.weights import is_cached


def case(folder: Path) -> ContractCase:
    folder.mkdir(parents=True, exist_ok=True)
    demo = get_example("demo")
    style, smap = demo.images((32, 24))
    style.save(folder / "style.png")
    smap.save(folder / "style_sem.png")
    demo.doodle((32, 24)).save(folder / "doodle.png")
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    out = folder / "painting.png"
    base = ["doodle", "-s", str(folder / "style.png"), "--iterations", "2", "--device", "cpu"]
    return ContractCase(
        argv=[*base, "-m", str(folder / "doodle.png"), "-o", str(out)],
        outputs=[out],
        corrupt_argv=[*base, "-m", str(folder / "corrupt.png"), "-o", str(folder / "bad.png")],
        weights=["vgg16-hed"],
        skip=None if is_cached("vgg16-hed") else
        "weights 'vgg16-hed' are not cached: run `artkit weights fetch vgg16-hed`",
    )
