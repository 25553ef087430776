"""Where a batch of photos goes: inputs gathered, and every output given a name of its own.

``artkit colorize IN... -o OUT`` takes files and folders. With one input file and an image
suffix, ``OUT`` is the output file; otherwise ``OUT`` is a folder, and each photo's result is
``OUT/<sub-folders>/<name>.png`` (a folder input's sub-folders are kept, so ``scans/1950/a.jpg``
and ``scans/1960/a.jpg`` stay apart), with ``<name>.json`` (its manifest) and, with
``--explain``, ``<name>.explain.png`` beside it.

Nothing may be lost on the way, so names are made unique against everything at once:

* two inputs with one name (``a.png`` and ``a.jpg``, or the same name in two folders given as
  files) get ``a.png`` and ``a_2.png``, numbered past names that are taken — by another
  output, by an output's manifest or explanation, or by an input (``a.png``, ``a_2.png`` and
  ``sub/a.png`` from explicit files are three outputs, never two);
* an output folder equal to an input folder is refused (results would be mixed with the photos
  and read back as photos next time), and an output folder inside an input folder is left out
  when that folder is listed;
* ``-o out.bmp`` for one photo is an error naming the suffixes artkit writes, not a folder
  called ``out.bmp``.

Example:
    >>> from pathlib import Path
    >>> ins = [(None, [Path("x/a.png"), Path("y/a.png"), Path("x/a_2.png")])]
    >>> [str(p.dst) for p in plan_outputs(ins, Path("out"))]
    ['out/a.png', 'out/a_3.png', 'out/a_2.png']
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from artkit.core.errors import ArtkitError
from artkit.core.images import IMAGE_SUFFIXES, list_images
from artkit.core.manifest import manifest_path
from artkit.core.outputs import IMAGE_OUTPUTS


@dataclass
class Planned:
    """One photo's input and outputs (``explain`` is ``None`` without ``--explain``)."""

    src: Path
    dst: Path
    explain: Path | None = None


def explain_path(out: Path) -> Path:
    """Where ``--explain`` writes the heatmaps of the result ``out``: ``NAME.explain.png``."""
    return out.with_name(f"{out.stem}.explain.png")


def _key(path: Path) -> str:
    return os.path.normcase(os.path.abspath(path)).lower()


def is_file_output(output: Path, n_inputs: int) -> bool:
    """Whether ``-o`` names one output file (one input, an image suffix) rather than a folder.

    Raises:
        ArtkitError: an image suffix artkit cannot write, a file name for several inputs, or an
            existing file given as the folder.
    """
    suffix = output.suffix.lower()
    looks_like_image = suffix in IMAGE_OUTPUTS or suffix in IMAGE_SUFFIXES
    if looks_like_image and not output.is_dir():
        if n_inputs > 1:
            raise ArtkitError(f"{n_inputs} inputs need an output folder, not the file '{output}'",
                              "give -o FOLDER")
        if suffix not in IMAGE_OUTPUTS:
            raise ArtkitError(f"cannot write '{output}': artkit writes "
                              f"{', '.join(sorted(IMAGE_OUTPUTS))} images, not {suffix}",
                              f"use -o {output.with_suffix('.png')}")
        return True
    if output.exists() and not output.is_dir():
        raise ArtkitError(f"output '{output}' is a file, not a folder",
                          "give -o FOLDER (or one photo and -o NAME.png)")
    return False


def gather_inputs(inputs: Sequence[Path], output: Path) -> list[tuple[Path | None, list[Path]]]:
    """The photos of each input argument: ``(folder, its images)`` for a folder (the output
    folder left out when it lies inside), ``(None, [file])`` for a file.

    Raises:
        ArtkitError: a missing input, a folder without images, or an output folder that is an
            input folder.
    """
    out_key = _key(output)
    groups: list[tuple[Path | None, list[Path]]] = []
    for p in inputs:
        if p.is_dir():
            if _key(p) == out_key:
                raise ArtkitError(f"the output folder '{output}' is the input folder: results "
                                  "would be mixed with the photos and read as photos next time",
                                  f"choose another output folder, e.g. -o {p.name or 'out'}-colour")
            groups.append((p, list_images([p], exclude=[output])))
        else:
            groups.append((None, list_images([p])))
    return groups


def plan_outputs(groups: Sequence[tuple[Path | None, Sequence[Path]]], output: Path, *,
                 explain: bool = False) -> list[Planned]:
    """Name every photo's outputs (see the module docstring), in input order.

    Args:
        groups: from :func:`gather_inputs`.
        output: ``-o``: a file (one input with an image suffix) or a folder.
        explain: plan ``NAME.explain.png`` too.

    Raises:
        ArtkitError: see :func:`is_file_output`.
    """
    files = [(root, f) for root, fs in groups for f in fs]
    if is_file_output(output, len(files)):
        dst = output
        return [Planned(files[0][1], dst, explain_path(dst) if explain else None)]
    taken = {_key(f) for _, f in files}  # an output never lands on an input

    def names(dst: Path) -> list[str]:  # every path one output occupies
        paths = [dst, manifest_path(dst)] + ([explain_path(dst)] if explain else [])
        return [_key(p) for p in paths]

    def free(dst: Path) -> bool:
        return not any(n in taken for n in names(dst))

    wanted = []
    for root, f in files:
        folder = output / f.parent.relative_to(root) if root is not None else output
        wanted.append((f, folder, f.stem))
    chosen: dict[int, Path] = {}
    for i, (_, folder, stem) in enumerate(wanted):  # first, every name as it is
        dst = folder / f"{stem}.png"
        if free(dst):
            chosen[i] = dst
            taken.update(names(dst))
    for i, (_, folder, stem) in enumerate(wanted):  # then the rest, numbered past taken names
        if i in chosen:
            continue
        n = 2
        while not free(folder / f"{stem}_{n}.png"):
            n += 1
        chosen[i] = folder / f"{stem}_{n}.png"
        taken.update(names(chosen[i]))
    return [Planned(f, chosen[i], explain_path(chosen[i]) if explain else None)
            for i, (f, _, _) in enumerate(wanted)]
