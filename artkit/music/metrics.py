"""Quality figures of melodies over chords, and the random baselines they are compared with.

Per piece: scale consistency (the best of the 24 major / natural-minor scales' in-scale note
rate), pitch-class entropy (bits), interval-3-gram repetition rate (1 − distinct / all 3-grams of
successive intervals), groove consistency (1 − mean normalised Hamming distance between the
16th-note onset vectors of every pair of bars of the same length), chord-tone ratio on strong
beats (each bar's meter says which: beats 1 and 3 in 4/4, the downbeat in 3/4, beats 1 and 4 in
5/4 and 6/8; see :mod:`artkit.music.meter`; notes under N.C. are not counted). Across pieces:
the overlap of each figure's distribution with a reference set's (area under the minimum of two
Gaussian kernel densities).
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from artkit.core.result import Evaluation
from artkit.music.chords import MAJOR, NATURAL_MINOR
from artkit.music.corpus import Piece
from artkit.music.grammar import Note
from artkit.music.meter import Meter, meter_for_length

FEATURES = ("scale_consistency", "pitch_entropy", "repetition", "groove", "chord_tone_ratio")
LABELS = {"scale_consistency": "scale consistency", "pitch_entropy": "pitch-class entropy (bits)",
          "repetition": "interval 3-gram repetition", "groove": "groove consistency",
          "chord_tone_ratio": "chord tones on strong beats"}


def scale_consistency(pitches: list[int]) -> float:
    if not pitches:
        return float("nan")
    pcs = [p % 12 for p in pitches]
    best = 0.0
    for tonic in range(12):
        for steps in (MAJOR, NATURAL_MINOR):
            scale = {(tonic + s) % 12 for s in steps}
            best = max(best, sum(pc in scale for pc in pcs) / len(pcs))
    return best


def pitch_entropy(pitches: list[int]) -> float:
    if not pitches:
        return float("nan")
    counts = np.bincount([p % 12 for p in pitches], minlength=12).astype(float)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def repetition(pitches: list[int], n: int = 3) -> float:
    iv = [b - a for a, b in zip(pitches, pitches[1:])]
    grams = [tuple(iv[i:i + n]) for i in range(len(iv) - n + 1)]
    if not grams:
        return float("nan")
    return 1.0 - len(set(grams)) / len(grams)


def groove(notes: list[Note], bars: list[tuple[Fraction, Fraction]]) -> float:
    vecs = []
    starts = [n.start for n in notes if n.pitch is not None]
    for b0, blen in bars:
        size = max(1, int(blen * 4))
        v = np.zeros(size, dtype=bool)
        for s in starts:
            if b0 <= s < b0 + blen:
                v[min(size - 1, int(round((s - b0) * 4)))] = True
        vecs.append(v)
    vecs = [v for v in vecs if v.any()]
    if len(vecs) < 2:
        return float("nan")
    dists = []
    for i in range(len(vecs)):
        for j in range(i + 1, len(vecs)):
            a, b = vecs[i], vecs[j]
            if len(a) == len(b):
                dists.append(float((a != b).mean()))
    return 1.0 - float(np.mean(dists)) if dists else float("nan")


def strong_beat(offset: Fraction, bar_len: Fraction | Meter) -> bool:
    """Whether ``offset`` (quarters into a bar) is a strong beat of the bar's meter (a meter,
    or a bar length read as n/4)."""
    meter = bar_len if isinstance(bar_len, Meter) else meter_for_length(Fraction(bar_len))
    return Fraction(offset) in meter.strong


def chord_tone_ratio(piece: Piece) -> float:
    hits = total = 0
    starts = [b0 for b0, _ in piece.bars]
    for n in piece.melody:
        if n.pitch is None:
            continue
        k = bisect.bisect_right(starts, n.start) - 1
        if k < 0 or n.start >= piece.bars[k][0] + piece.bars[k][1]:
            continue
        if strong_beat(n.start - piece.bars[k][0], piece.meter(k)):
            chord = piece.chord_at(n.start)
            if chord is not None:
                total += 1
                hits += (n.pitch % 12) in chord.pcs
    return hits / total if total else float("nan")


def piece_features(piece: Piece) -> dict[str, float]:
    pitches = [n.pitch for n in piece.melody if n.pitch is not None]
    return {"scale_consistency": scale_consistency(pitches),
            "pitch_entropy": pitch_entropy(pitches),
            "repetition": repetition(pitches),
            "groove": groove(piece.melody, piece.bars),
            "chord_tone_ratio": chord_tone_ratio(piece)}


def baseline(piece: Piece, kind: str, rng: random.Random) -> Piece:
    """The piece's melody with random pitches (``uniform`` in its range, or a ``walk`` of steps
    of up to 4 semitones) and its note lengths shuffled; same chords and bars."""
    notes = [n for n in piece.melody if n.pitch is not None]
    pitches = [n.pitch for n in notes]
    lo, hi = min(pitches), max(pitches)
    if hi - lo < 12:
        mid = (lo + hi) // 2
        lo, hi = mid - 6, mid + 6
    durs = [n.dur for n in notes]
    rng.shuffle(durs)
    t = notes[0].start
    out, p = [], int(np.median(pitches))
    for d in durs:
        if kind == "uniform":
            p = rng.randint(lo, hi)
        else:
            p += rng.randint(-4, 4)
            if p < lo or p > hi:
                p = max(lo, min(hi, 2 * (lo if p < lo else hi) - p))
        out.append(Note(t, d, p))
        t += d
    return Piece(piece.name + f" ({kind})", out, piece.chords, piece.bars, piece.harmony,
                 piece.meters)


def mean_features(rows: list[dict[str, float]]) -> dict[str, float]:
    out = {}
    for f in FEATURES:
        vals = [r[f] for r in rows if r.get(f) is not None and not math.isnan(r[f])]
        out[f] = float(np.mean(vals)) if vals else float("nan")
    return out


def std_features(rows: list[dict[str, float]]) -> dict[str, float]:
    out = {}
    for f in FEATURES:
        vals = [r[f] for r in rows if r.get(f) is not None and not math.isnan(r[f])]
        out[f] = float(np.std(vals)) if vals else float("nan")
    return out


def _kde(values: np.ndarray, grid: np.ndarray, bw: float) -> np.ndarray:
    d = (grid[:, None] - values[None, :]) / bw
    dens = np.exp(-0.5 * d * d).sum(1) / (len(values) * bw * math.sqrt(2 * math.pi))
    return dens


def overlap(values: list[float], reference: list[float]) -> float:
    """Overlapping area of the Gaussian KDEs of ``values`` and ``reference`` (0–1)."""
    a = np.array([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    b = np.array([v for v in reference if v is not None and not math.isnan(v)], dtype=float)
    if len(a) == 0 or len(b) < 2:
        return float("nan")
    spread = float(np.std(b)) or 1e-2
    bw = max(1.06 * spread * len(b) ** (-1 / 5), 1e-3)
    lo = min(a.min(), b.min()) - 4 * bw
    hi = max(a.max(), b.max()) + 4 * bw
    grid = np.linspace(lo, hi, 2000)
    fa, fb = _kde(a, grid, bw), _kde(b, grid, bw)
    return float(np.minimum(fa, fb).sum() * (grid[1] - grid[0]))


def overlap_scores(rows: list[dict[str, float]], reference: list[dict[str, float]]) -> dict[str, float]:
    """Per feature overlap of ``rows`` with ``reference``, plus their ``mean``."""
    out = {f: overlap([r[f] for r in rows], [r[f] for r in reference]) for f in FEATURES}
    vals = [v for v in out.values() if not math.isnan(v)]
    out["mean"] = float(np.mean(vals)) if vals else float("nan")
    return out


@dataclass(kw_only=True)
class MusicEvaluation(Evaluation):
    """Per-piece figures, their means, the baselines' means and the overlap with a reference.

    Args:
        names: the pieces measured.
        rows: each piece's figures.
        mean, std: across pieces.
        uniform, walk: the means of the two random baselines (same rhythm, random pitches).
        overlap: per figure overlap with the reference distribution, and its ``mean``.
        skipped: ``(source, reason)`` of what could not be measured.
    """

    names: list[str]
    rows: list[dict[str, float]]
    mean: dict[str, float]
    std: dict[str, float]
    uniform: dict[str, float]
    walk: dict[str, float]
    overlap: dict[str, float] | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"pieces": [{"name": n, **r} for n, r in zip(self.names, self.rows)],
                "mean": self.mean, "std": self.std,
                "baselines": {"uniform random": self.uniform, "random walk": self.walk},
                "overlap_with_reference": self.overlap, "skipped": self.skipped,
                "seconds": self.seconds, "notes": self.notes, "weights": self.weights}


def evaluate_pieces(pieces: list[Piece], reference: list[dict[str, float]] | None = None,
                    seed: int = 0, skipped=None) -> MusicEvaluation:
    """Figures for ``pieces``, baselines built from each of them, and the overlap with
    ``reference`` rows (the training set's figures) when given."""
    rng = random.Random(seed)
    rows = [piece_features(p) for p in pieces]
    uni = [piece_features(baseline(p, "uniform", rng)) for p in pieces]
    walk = [piece_features(baseline(p, "walk", rng)) for p in pieces]
    ov = overlap_scores(rows, reference) if reference else None
    return MusicEvaluation(names=[p.name for p in pieces], rows=rows, mean=mean_features(rows),
                           std=std_features(rows), uniform=mean_features(uni),
                           walk=mean_features(walk), overlap=ov, skipped=list(skipped or []))
