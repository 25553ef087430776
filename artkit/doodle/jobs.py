"""Doodle jobs: one painting's inputs and settings, and a TOML list of them for a batch.

``artkit doodle`` paints one :class:`Job`; ``artkit doodle batch JOBS.toml`` reads many with
:func:`read_jobs` and paints them — split across processes under ``torchrun``, since the doodle
engine is one optimisation per picture and scales by running many pictures, not by splitting
one. A job file::

    [defaults]                 # optional: every job's settings unless the job says otherwise
    style = "Monet.jpg"        # its map defaults to Monet_sem.png beside it
    engine = "patch"
    size = "512x384"

    [[job]]
    map = "coastline.png"
    output = "out/coastline.png"

    [[job]]
    style = "Renoir.jpg"
    map = "lake.png"
    output = "out/lake.png"
    engine = "neural"          # this job's own setting
    iterations = 50

Keys: ``style``, ``map`` (the doodle), ``style_map``, ``content``, ``output`` (paths, relative
to the TOML file), ``size`` (``"WxH"``), ``preset`` (a shipped name or a .toml path), ``seed``,
and every key of :class:`~artkit.doodle.config.DoodleConfig`. Settings are layered: the config
defaults ← the preset (the job's, else ``[defaults]``'s, else the command line's) ←
``[defaults]`` ← the job. The whole file is checked by :func:`read_jobs` before any work: an
unknown key, a missing file, two jobs writing one output are one :class:`ArtkitError` naming
the file and the job.

This module imports no torch.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artkit.core.errors import ArtkitError
from artkit.core.presets import read_toml
from artkit.doodle.config import INITS, PRESETS, DoodleConfig

PATH_KEYS = ("style", "map", "style_map", "content", "output")
JOB_KEYS = (*PATH_KEYS, "size", "preset", "seed")
CONFIG_KEYS = tuple(f.name for f in dataclasses.fields(DoodleConfig))


@dataclass
class Job:
    """One painting: its inputs (paths, or in-memory images for the demo), output and settings.

    Attributes:
        style, style_map, target_map, content: the inputs (``None`` where not used).
        output: the painting's path (its manifest goes beside it).
        config: every setting, validated.
        size: (W, H) of the output, or ``None`` for the doodle's (content's, style's) size.
        seed: the seed of the job's own generator.
        label: how messages name the job (``"jobs.toml job 2"``; empty for one picture).
        extra_params: more parameters for the manifest (the preset's name, the demo's scene).
    """

    style: Any
    output: Path
    config: DoodleConfig
    style_map: Any = None
    target_map: Any = None
    content: Any = None
    size: tuple[int, int] | None = None
    seed: int = 0
    label: str = ""
    extra_params: dict[str, Any] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        """The job's parameters as its manifest records them (and a rerun compares them)."""
        return {"style": self.style, "style_map": self.style_map, "map": self.target_map,
                "content": self.content, "size": self.size, "config": self.config.to_dict(),
                **self.extra_params}

    def files(self) -> list[Path]:
        """The input files the job reads."""
        return [p for p in (self.style, self.style_map, self.target_map, self.content)
                if isinstance(p, Path)]


def parse_size(text: str | None, where: str = "--size") -> tuple[int, int] | None:
    """``"512x384"`` → (512, 384); ``None`` stays ``None``."""
    if text is None:
        return None
    try:
        w, h = (int(v) for v in str(text).lower().replace("×", "x").split("x"))
    except ValueError:
        raise ArtkitError(f"{where} '{text}' is not WIDTHxHEIGHT", "e.g. 512x384") from None
    return w, h


def read_jobs(path: str | os.PathLike, *, preset: str | None = None, seed: int = 0) -> list[Job]:
    """Read and check a TOML job list (see the module docstring for its keys).

    Args:
        path: the TOML file; relative paths inside it are relative to its folder.
        preset: the preset of jobs whose file names none (the command line's ``--preset``).
        seed: the seed of jobs whose file gives none (the command line's ``--seed``).

    Raises:
        ArtkitError: unreadable TOML, an unknown key, a missing input, a bad setting, two jobs
            writing one output, no jobs — naming the file and the job.
    """
    path = Path(path)
    if not path.is_file():
        raise ArtkitError(f"job file '{path}' does not exist", "give a .toml list of [[job]] tables")
    table, where = read_toml(path, PRESETS, what="job file")
    _check_keys(table, ("defaults", "job"), where)
    defaults, jobs = table.get("defaults", {}), table.get("job", [])
    if not isinstance(defaults, dict):
        raise ArtkitError(f"{where}: 'defaults' should be a table", "write [defaults]")
    if not isinstance(jobs, list) or not jobs or not all(isinstance(j, dict) for j in jobs):
        raise ArtkitError(f"{where}: no jobs", "add one [[job]] table per painting")
    _check_keys(defaults, tuple(k for k in (*JOB_KEYS, *CONFIG_KEYS) if k != "output"),
                f"{where} [defaults]")
    out, seen = [], {}
    for i, raw in enumerate(jobs, 1):
        label = f"{where} job {i}"
        _check_keys(raw, (*JOB_KEYS, *CONFIG_KEYS), label)
        job = _job({**defaults, **raw}, path.parent, label, preset, seed)
        key = os.path.normcase(os.path.abspath(job.output))
        if key in seen:
            raise ArtkitError(f"{label} writes '{job.output}', as job {seen[key]} does",
                              "give every job its own output")
        seen[key] = i
        out.append(job)
    return out


def _job(values: dict[str, Any], base: Path, label: str, preset: str | None, seed: int) -> Job:
    """One job from its merged keys (defaults, then its own)."""
    for key in ("style", "output"):
        if key not in values:
            raise ArtkitError(f"{label}: '{key}' is missing", f"add {key} = \"...\" to the job")
    paths = {}
    for key in PATH_KEYS:
        if key in values:
            if not isinstance(values[key], str) or not values[key]:
                raise ArtkitError(f"{label}: '{key}' should be a file name (a string)")
            paths[key] = base / values[key]
            if key != "output" and not paths[key].is_file():
                raise ArtkitError(f"{label}: {key} '{paths[key]}' does not exist")
    if "map" in paths and "style_map" not in paths:
        paths["style_map"] = _default_style_map(paths["style"], label)
    preset_name = values.get("preset", preset)
    if preset_name is not None and not isinstance(preset_name, str):
        raise ArtkitError(f"{label}: 'preset' should be a string")
    if isinstance(preset_name, str) and preset_name.endswith(".toml"):
        preset_name = str(base / preset_name)
    options = {k: values[k] for k in CONFIG_KEYS if k in values}
    if isinstance(options.get("init"), str) and options["init"] not in INITS:
        options["init"] = str(base / options["init"])  # an image file
    try:
        config = DoodleConfig.build(preset_name, PRESETS)
    except ArtkitError as exc:
        raise ArtkitError(f"{label}: {exc.message}", exc.hint) from None
    config = dataclasses.replace(config, **options)
    config.validate(label)  # names the job and the key
    job_seed = values.get("seed", seed)
    if not isinstance(job_seed, int) or isinstance(job_seed, bool) or job_seed < 0:
        raise ArtkitError(f"{label}: 'seed' should be a whole number ≥ 0, got {job_seed!r}")
    size = values.get("size")
    return Job(style=paths["style"], output=paths["output"], config=config,
               style_map=paths.get("style_map"), target_map=paths.get("map"),
               content=paths.get("content"), seed=job_seed, label=label,
               size=parse_size(size, f"{label}: size") if size is not None else None,
               extra_params={"preset": preset_name, "seed": job_seed})


def default_style_map(style: str | os.PathLike) -> Path | None:
    """``<style>_sem.png`` beside a style image, if it exists."""
    p = Path(style)
    candidate = p.with_name(p.stem + "_sem.png")
    return candidate if candidate.exists() else None


def _default_style_map(style: Path, label: str) -> Path:
    found = default_style_map(style)
    if found is None:
        raise ArtkitError(f"{label}: a doodle (map) needs the style's semantic map, and "
                          f"'{style.stem}_sem.png' is not beside the style",
                          "add style_map = \"...\" to the job")
    return found


def _check_keys(table: dict, allowed: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(allowed)}"
            raise ArtkitError(f"{where}: unknown key '{key}'", hint)
