"""Speed of the shared networks on this machine.

* VGG16 forward + backward to the input (the style-transfer inner loop): one ``size x size``
  image that requires grad, features up to ``conv5_1``, average pooling, frozen weights; NCHW
  against channels_last, and their ratio.
* EfficientNet-Lite0 inference throughput at 224 x 224, batch 8, under ``torch.inference_mode``.

Real weights are used when they are in the artkit cache, else random ones (the script says which;
speed does not depend on the values). Each timing is the median of ``--repeats`` runs after one
warm-up run.

Usage:
    python benchmarks/nets.py [--size 512] [--repeats 3] [--threads N] [--device cpu]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import torch

from artkit.core.errors import ArtkitError
from artkit.core.runtime import resolve_device
from artkit.nets.efficientnet import EFFICIENTNET_SIZES, EfficientNetLite0, load_efficientnet
from artkit.nets.vgg import VGGConfig, VGGFeatures, load_vgg

_FORMATS = (("NCHW", torch.contiguous_format), ("channels_last", torch.channels_last))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _median_time(fn: Callable[[], None], repeats: int, device: torch.device) -> float:
    fn()  # warm-up
    _sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _vgg(device: torch.device) -> tuple[VGGFeatures, str]:
    try:
        return load_vgg("vgg16-hed", pooling="avg", device=device), "vgg16-hed weights"
    except ArtkitError:
        model = VGGFeatures(VGGConfig(arch="vgg16", pooling="avg", preprocess="caffe"))
        model.eval().requires_grad_(False)
        return model.to(device), "random weights (vgg16-hed not cached)"


def _efficientnet(device: torch.device) -> tuple[EfficientNetLite0, str]:
    try:
        return load_efficientnet(device=device), "efficientnet-lite0 weights"
    except ArtkitError:
        model = EfficientNetLite0(EFFICIENTNET_SIZES["lite0"]).eval().requires_grad_(False)
        return model.to(device), "random weights (efficientnet-lite0 not cached)"


def bench_vgg(size: int, repeats: int, device: torch.device) -> dict[str, float]:
    """Seconds per VGG16 forward+backward (to conv5_1) in NCHW and channels_last."""
    model, source = _vgg(device)
    print(f"VGG16 ({source}), 1 x 3 x {size} x {size}, up to conv5_1, avg pooling, "
          f"forward + backward to the input")
    results = {}
    gen = torch.Generator().manual_seed(0)
    base = torch.rand(1, 3, size, size, generator=gen).to(device)
    for fmt_name, fmt in _FORMATS:
        model = model.to(memory_format=fmt)
        x = base.contiguous(memory_format=fmt).requires_grad_(True)

        def step() -> None:
            x.grad = None
            feats = model(x, ["conv5_1"])["conv5_1"]  # (1, 512, S/16, S/16)
            feats.square().mean().backward()

        results[fmt_name] = _median_time(step, repeats, device)
        print(f"  {fmt_name:<14} {results[fmt_name] * 1000:9.1f} ms / iteration")
    ratio = results["NCHW"] / results["channels_last"]
    print(f"  channels_last speed-up: {ratio:.2f}x (NCHW time / channels_last time)")
    return results


def bench_efficientnet(repeats: int, device: torch.device, batch: int = 8) -> dict[str, float]:
    """Images per second of EfficientNet-Lite0 inference at 224 x 224."""
    model, source = _efficientnet(device)
    print(f"EfficientNet-Lite0 ({source}), batch {batch} x 3 x 224 x 224, inference_mode")
    gen = torch.Generator().manual_seed(0)
    base = torch.rand(batch, 3, 224, 224, generator=gen).to(device)
    results = {}
    for fmt_name, fmt in _FORMATS:
        model = model.to(memory_format=fmt)
        x = base.contiguous(memory_format=fmt)

        def step() -> None:
            with torch.inference_mode():
                model(x)

        seconds = _median_time(step, repeats, device)
        results[fmt_name] = batch / seconds
        print(f"  {fmt_name:<14} {results[fmt_name]:9.1f} images/s "
              f"({seconds * 1000:.1f} ms / batch)")
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=512, help="VGG image side in pixels")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (median is reported)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    print(f"torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}")
    bench_vgg(args.size, args.repeats, device)
    bench_efficientnet(args.repeats, device)


if __name__ == "__main__":
    main()
