"""Fashion-MNIST (from the weight store's Debian data set) and training the small explain CNN."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from artkit.core.errors import ArtkitError
from artkit.core.progress import ProgressCallback, report
from artkit.core.runtime import make_generator
from artkit.explain.models import FashionCNN
from artkit.weights.store import data_path

FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
         "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzipped or not): the MNIST family's array format."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as exc:
        raise ArtkitError(f"cannot read '{path}' ({exc})", "run `artkit weights fetch fashion-mnist --force`") from None
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] != 8:
        raise ArtkitError(f"'{path}' is not an IDX file of unsigned bytes")
    ndim = data[3]
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise ArtkitError(f"'{path}' is truncated", "run `artkit weights fetch fashion-mnist --force`")
    return body.reshape(dims)


def load_split(split: str = "train", root: Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Fashion-MNIST images (N, 1, 28, 28) float in [0, 1] and labels (N,) int64.

    Raises:
        ArtkitError: the data set is not fetched (the hint names the command).
    """
    if split not in FILES:
        raise ArtkitError(f"unknown split '{split}'", "use train or test")
    if root is None:
        root = data_path("fashion-mnist")
    images, labels = (read_idx(Path(root) / f) for f in FILES[split])
    x = torch.from_numpy(images.astype(np.float32) / 255.0)[:, None]
    return x, torch.from_numpy(labels.astype(np.int64))


def train_cnn(x: torch.Tensor, y: torch.Tensor, *, epochs: int = 3, batch: int = 128,
              lr: float = 2e-3, seed: int = 0, width: int = 16, hidden: int = 128,
              progress: ProgressCallback | None = None) -> FashionCNN:
    """Train :class:`FashionCNN` with Adam and a cosine learning-rate schedule."""
    gen = make_generator(seed)
    model = FashionCNN(width, hidden)
    for m in model.modules():  # initialised from the generator, not torch's global state
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.kaiming_uniform_(m.weight, a=5 ** 0.5, generator=gen)
            torch.nn.init.zeros_(m.bias)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * ((len(x) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    step = 0
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % 50 == 0 or step == steps:
                report(progress, "train", step, steps, loss=loss.item(), epoch=epoch + 1)
    return model.eval()


@torch.no_grad()
def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> float:
    correct = sum(int((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum())
                  for i in range(0, len(x), batch))
    return correct / max(1, len(x))
