"""Quality figures of melodies over chords, and the random baselines they are compared with.

Per piece: scale consistency (the best of the 24 major / natural-minor scales' in-scale note
rate), pitch-class entropy (bits), interval-3-gram repetition rate (1 − distinct / all 3-grams of
successive intervals), groove consistency (1 − mean normalised Hamming distance between the
16th-note onset vectors of every pair of bars), chord-tone ratio on strong beats (beats 1 and 3
in 4/4, the downbeat otherwise). Across pieces: the overlap of each figure's distribution with a
reference set's (area under the minimum of two Gaussian kernel densities).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from artkit.music.chords import MAJOR, NATURAL_MINOR
from artkit.music.corpus import Piece
from artkit.music.grammar import Note

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


def strong_beat(offset: Fraction, bar_len: Fraction) -> bool:
    if offset == 0:
        return True
    return bar_len % 2 == 0 and bar_len >= 4 and offset == bar_len / 2


def chord_tone_ratio(piece: Piece) -> float:
    hits = total = 0
    bar_iter = piece.bars
    for n in piece.melody:
        if n.pitch is None:
            continue
        for b0, blen in bar_iter:
            if b0 <= n.start < b0 + blen:
                if strong_beat(n.start - b0, blen):
                    chord = piece.chord_at(n.start)
                    if chord is not None:
                        total += 1
                        hits += (n.pitch % 12) in chord.pcs
                break
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
    return Piece(piece.name + f" ({kind})", out, piece.chords, piece.bars, piece.harmony)


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


@dataclass
class Evaluation:
    """Per-piece figures, their means, the baselines' means and the overlap with a reference."""

    names: list[str]
    rows: list[dict[str, float]]
    mean: dict[str, float]
    std: dict[str, float]
    uniform: dict[str, float]
    walk: dict[str, float]
    overlap: dict[str, float] | None
    skipped: list[tuple[str, str]]

    def to_dict(self) -> dict:
        return {"pieces": [{"name": n, **r} for n, r in zip(self.names, self.rows)],
                "mean": self.mean, "std": self.std,
                "baselines": {"uniform random": self.uniform, "random walk": self.walk},
                "overlap_with_reference": self.overlap, "skipped": self.skipped}


def evaluate_pieces(pieces: list[Piece], reference: list[dict[str, float]] | None = None,
                    seed: int = 0, skipped=None) -> Evaluation:
    """Figures for ``pieces``, baselines built from each of them, and the overlap with
    ``reference`` rows (the training set's figures) when given."""
    rng = random.Random(seed)
    rows = [piece_features(p) for p in pieces]
    uni = [piece_features(baseline(p, "uniform", rng)) for p in pieces]
    walk = [piece_features(baseline(p, "walk", rng)) for p in pieces]
    ov = overlap_scores(rows, reference) if reference else None
    return Evaluation([p.name for p in pieces], rows, mean_features(rows), std_features(rows),
                      mean_features(uni), mean_features(walk), ov, list(skipped or []))
