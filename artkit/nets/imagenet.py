"""The 1000 ImageNet (ILSVRC-2012) class names in index order, and handy index ranges.

The names are data (``artkit/data/imagenet_classes.txt``, one per line), the same short English
names that torchvision uses, read once and cached.

Example:
    >>> class_names()[967]
    'espresso'
    >>> 285 in CAT_CLASSES
    True
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from artkit.core.errors import ArtkitError

NUM_CLASSES = 1000

# Dog breeds (Chihuahua ... Mexican hairless) and domestic cats (tabby ... Egyptian cat).
DOG_CLASSES = range(151, 269)
CAT_CLASSES = range(281, 286)

_DATA_FILE = "imagenet_classes.txt"


@lru_cache(maxsize=1)
def _load() -> tuple[str, ...]:
    try:
        text = resources.files("artkit").joinpath("data", _DATA_FILE).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError) as exc:
        raise ArtkitError(f"the ImageNet class list artkit/data/{_DATA_FILE} is missing ({exc})",
                          "reinstall artkit") from None
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if len(names) != NUM_CLASSES:
        raise ArtkitError(f"artkit/data/{_DATA_FILE} has {len(names)} names, expected "
                          f"{NUM_CLASSES}", "reinstall artkit")
    return names


def class_names() -> list[str]:
    """The 1000 ImageNet class names; index ``i`` is the name of logit ``i``."""
    return list(_load())


def class_name(index: int) -> str:
    """The name of one ImageNet class.

    Args:
        index: class index in ``0 ... 999``.

    Raises:
        ArtkitError: the index is out of range.
    """
    if not 0 <= int(index) < NUM_CLASSES:
        raise ArtkitError(f"ImageNet class index must be in 0..{NUM_CLASSES - 1}, got {index}")
    return _load()[int(index)]


def is_dog(index: int) -> bool:
    """Whether an ImageNet class index is one of the dog breeds."""
    return int(index) in DOG_CLASSES


def is_cat(index: int) -> bool:
    """Whether an ImageNet class index is one of the domestic cats."""
    return int(index) in CAT_CLASSES
