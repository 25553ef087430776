"""A small synthesiser in torch (piano, bass and drum voices, reverb), WAV files, FluidSynth.

The voices are additive / noise models, not samples: a piano-like tone of decaying inharmonic
partials (higher partials die faster, low notes ring longer), a round plucked bass, and a kit
of kick (a falling sine), snare (tone + noise), hi-hat and ride (filtered noise with metallic
partials). torchaudio does the filtering (biquads) and the reverb (FFT convolution with a
decaying-noise impulse response). Audio files are written with the standard library's ``wave``.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from artkit.core.errors import ArtkitError
from artkit.core.progress import ProgressCallback, report
from artkit.music.midi import MidiSong, MidiTrack, write_midi
from artkit.music.threads import one_thread

TAIL_S = 1.0  # seconds of release and reverb after the last note-off


def _freq(pitch: int) -> float:
    return 440.0 * 2.0 ** ((pitch - 69) / 12)


PIANO_RELEASE, BASS_RELEASE = 0.25, 0.08


def piano_partials(pitch: int, n: int, sr: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The undamped piano sound of ``pitch``, ``n`` samples: (partials 1–2, partials 3–10).

    10 slightly stretched partials, each decaying at its own rate (higher partials and higher
    notes faster). Split in two so velocity can brighten the upper partials.
    """
    f0 = _freq(pitch)
    t = torch.arange(n, dtype=torch.float32) / sr
    k = torch.arange(1, 11, dtype=torch.float32)[:, None]                  # (K, 1)
    fk = k * f0 * torch.sqrt(1 + 3e-4 * k * k)
    keep = (fk < sr / 2 - 500).float()
    amp = (1.0 / k ** 1.2) * keep
    rate = (0.9 + 0.55 * k) * (f0 / 262.0) ** 0.45                          # (K, 1)
    partials = amp * torch.exp(-rate * t) * torch.sin(2 * math.pi * fk * t)  # (K, n)
    attack = torch.clamp(t / 0.004, max=1.0)
    return partials[:2].sum(0) * attack, partials[2:].sum(0) * attack


def piano_tone(pitch: int, velocity: int, dur: float, sr: int, cache: dict | None = None) -> torch.Tensor:
    """A piano-like note of ``dur`` seconds plus its release (a damper falling in 0.25 s)."""
    n = int((dur + PIANO_RELEASE) * sr)
    low, high = _cached(cache, ("piano", pitch), n, lambda: piano_partials(pitch, n, sr))
    t = torch.arange(n, dtype=torch.float32) / sr
    off = torch.clamp(1 - (t - dur) / PIANO_RELEASE, 0, 1) ** 2
    v = velocity / 127
    return (low[:n] + (1.0 + 0.3 * v) * high[:n]) * off * v * 0.35


def bass_sound(pitch: int, n: int, sr: int) -> torch.Tensor:
    """A plucked upright-like bass (``n`` samples): fundamental, two overtones, a fast decay."""
    f0 = _freq(pitch)
    t = torch.arange(n, dtype=torch.float32) / sr
    x = (torch.sin(2 * math.pi * f0 * t) + 0.5 * torch.sin(4 * math.pi * f0 * t)
         + 0.2 * torch.sin(6 * math.pi * f0 * t) * torch.exp(-8 * t))
    return x * torch.exp(-2.2 * t) * torch.clamp(t / 0.008, max=1.0)


def bass_tone(pitch: int, velocity: int, dur: float, sr: int, cache: dict | None = None) -> torch.Tensor:
    n = int((dur + BASS_RELEASE) * sr)
    (x,) = _cached(cache, ("bass", pitch), n, lambda: (bass_sound(pitch, n, sr),))
    t = torch.arange(n, dtype=torch.float32) / sr
    off = torch.clamp(1 - (t - dur) / BASS_RELEASE, 0, 1)
    return x[:n] * off * (velocity / 127) * 0.5


def _cached(cache: dict | None, key, n: int, make):
    """``make()`` once per key, remade only when a longer sound is needed."""
    if cache is None:
        return make()
    hit = cache.get(key)
    if hit is None or hit[0].shape[-1] < n:
        hit = make()
        cache[key] = hit
    return hit


def drum_hit(pitch: int, velocity: int, sr: int, gen: torch.Generator) -> torch.Tensor:
    """General-MIDI drum notes: 35/36 kick, 37–40 snare, 42/44/46 hi-hats, 49/57 crash,
    51/53/59 ride; anything else a short noise tick."""
    import torchaudio.functional as AF

    v = velocity / 127
    if pitch in (35, 36):
        n = int(0.35 * sr)
        t = torch.arange(n, dtype=torch.float32) / sr
        f = 50 + 90 * torch.exp(-t * 30)
        phase = 2 * math.pi * torch.cumsum(f, 0) / sr
        return torch.sin(phase) * torch.exp(-t * 9) * v * 0.9
    if pitch in (37, 38, 39, 40):
        n = int(0.25 * sr)
        t = torch.arange(n, dtype=torch.float32) / sr
        noise = AF.highpass_biquad(torch.rand(n, generator=gen) * 2 - 1, sr, 1500.0)
        tone = torch.sin(2 * math.pi * 185 * t) * torch.exp(-t * 25)
        return (0.6 * noise * torch.exp(-t * 18) + 0.5 * tone) * v * 0.6
    length = {42: 0.08, 44: 0.1, 46: 0.4, 49: 1.6, 57: 1.6, 51: 0.9, 53: 0.9, 59: 0.9}.get(pitch, 0.06)
    n = int(length * sr)
    t = torch.arange(n, dtype=torch.float32) / sr
    noise = AF.highpass_biquad(torch.rand(n, generator=gen) * 2 - 1, sr, min(6000.0, 0.4 * sr))
    metal = sum(torch.sign(torch.sin(2 * math.pi * f * t)) for f in (3150.0, 4270.0, 5400.0, 6970.0)) / 4
    decay = torch.exp(-t * (4.5 / length))
    mix = 0.55 * noise + (0.35 if pitch in (51, 53, 59) else 0.15) * metal
    gain = {42: 0.25, 44: 0.22, 46: 0.25, 51: 0.2, 53: 0.22, 59: 0.2}.get(pitch, 0.3)
    return mix * decay * v * gain


def _voice(track: MidiTrack) -> str:
    if track.is_drums:
        return "drums"
    if 32 <= track.program <= 39 or "bass" in track.name.lower():
        return "bass"
    return "piano"


PAN = {"melody": 0.15, "piano": -0.35, "bass": 0.0, "drums": 0.25}
GAIN = {"melody": 1.4, "piano": 0.7, "bass": 1.0, "drums": 1.8}   # the lead in front


MAX_RENDER_SECONDS = 3 * 3600    # 3 hours: a 1.9 GB WAV file
NOTE_CAP_S = {"piano": 20.0, "bass": 8.0}   # the voices have decayed below -90 dB by then
BLOCK_S = 20.0                   # rendered and written in blocks of this many seconds
IN_MEMORY_S = 15 * 60            # up to this long, the blocks are kept (one pass)


def _hms(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:,.1f} hours"
    return f"{seconds / 60:.1f} minutes" if seconds >= 60 else f"{seconds:.1f} s"


class Renderer:
    """Renders a song with the built-in voices, block by block (see :func:`synthesize`).

    Each note is synthesised where it starts and its tail carried into the next blocks; the
    reverb is an overlap-add convolution carried the same way, so a piece of any length is
    rendered in bounded memory. The mix is normalised to -1 dBFS peak: pieces up to
    :data:`IN_MEMORY_S` keep their blocks for that; longer ones are rendered twice (once to find
    the peak) and written to disk as they go.

    Raises:
        ArtkitError: a sample rate out of range, no notes, or music longer than
            :data:`MAX_RENDER_SECONDS`.
    """

    def __init__(self, song: MidiSong, sample_rate: int = 44100, seed: int = 0,
                 reverb: float = 0.18, block_s: float = BLOCK_S):
        if not 8000 <= sample_rate <= 96000:
            raise ArtkitError(f"sample rate {sample_rate} is out of range", "use 8000 to 96000")
        if not any(t.notes for t in song.tracks):
            raise ArtkitError("the music has no notes to render")
        duration = song.duration_s
        if duration > MAX_RENDER_SECONDS:
            raise ArtkitError(f"the music lasts {_hms(duration)} (its last note ends "
                              f"{song.end:,.0f} quarter notes in); artkit renders up to "
                              f"{_hms(MAX_RENDER_SECONDS)}", "check the MIDI file's note times and tempo")
        self.song, self.sr, self.seed, self.reverb = song, int(sample_rate), seed, reverb
        self.frames = int((duration + TAIL_S) * self.sr) + 1
        self.block = max(1024, int(block_s * self.sr))
        self._kept: list[torch.Tensor] | None = None
        self._peak: float | None = None

    @property
    def seconds(self) -> float:
        """Length of the audio (the music and its tail)."""
        return self.frames / self.sr

    def _events(self) -> list[tuple[int, int, int, str, float, float]]:
        """``(first sample, track, note, voice, start s, end s)`` of every note, in time order."""
        out = []
        for k, track in enumerate(self.song.tracks):
            voice = _voice(track)
            for j, n in enumerate(track.notes):
                s0, s1 = self.song.seconds(n.start), self.song.seconds(n.start + n.dur)
                out.append((int(s0 * self.sr), k, j, voice, s0, s1))
        out.sort()
        return out

    def _dry(self, gen: torch.Generator, progress, task: str) -> Iterator[torch.Tensor]:
        """The dry stereo mix, ``(2, block)`` at a time."""
        sr, B = self.sr, self.block
        longest = int((max(NOTE_CAP_S.values()) + PIANO_RELEASE + 2.0) * sr)
        acc = torch.zeros(2, B + longest)
        cache: dict = {}
        drum_cache: dict = {}
        events = self._events()
        gains = []
        for track in self.song.tracks:
            name, voice = track.name.lower(), _voice(track)
            pan = PAN.get(name, PAN.get(voice, 0.0))
            g = GAIN.get(name, GAIN.get(voice, 1.0))
            gains.append(torch.tensor([g * math.cos((pan + 1) * math.pi / 4),
                                       g * math.sin((pan + 1) * math.pi / 4)])[:, None])
        e = 0
        for b0 in range(0, self.frames, B):
            while e < len(events) and events[e][0] < b0 + B:
                i0, k, j, voice, s0, s1 = events[e]
                note = self.song.tracks[k].notes[j]
                dur = min(max(s1 - s0, 0.02), NOTE_CAP_S.get(voice, 1.0))
                if voice == "drums":   # four takes of each drum, scaled by velocity
                    take = (note.pitch, e % 4)
                    if take not in drum_cache:
                        drum_cache[take] = drum_hit(note.pitch, 127, sr, gen)
                    x = drum_cache[take] * (note.velocity / 127)
                elif voice == "bass":
                    x = bass_tone(note.pitch, note.velocity, dur, sr, cache)
                else:
                    x = piano_tone(note.pitch, note.velocity, dur, sr, cache)
                at = i0 - b0
                n = min(len(x), acc.shape[1] - at)
                acc[:, at:at + n] += gains[k] * x[:n]
                e += 1
            n = min(B, self.frames - b0)
            yield acc[:, :n].clone()
            acc = torch.cat([acc[:, B:], torch.zeros(2, B)], dim=1)
            report(progress, task, min(b0 + B, self.frames), self.frames)

    def _mixed(self, progress, task: str) -> Iterator[torch.Tensor]:
        """Dry mix plus reverb, ``(2, block)`` at a time (unscaled)."""
        import torchaudio.functional as AF

        gen = torch.Generator().manual_seed(self.seed)
        sr = self.sr
        ir = None
        if self.reverb > 0:
            n_ir = int(1.2 * sr)
            t = torch.arange(n_ir) / sr
            ir = (torch.rand(2, n_ir, generator=gen) * 2 - 1) * torch.exp(-t * 5.0)
            ir = AF.lowpass_biquad(ir, sr, min(5000.0, 0.4 * sr))
            ir = ir / ir.abs().sum(1, keepdim=True) * 8
        carry = torch.zeros(2, 0)
        for dry in self._dry(gen, progress, task):
            if ir is None:
                yield dry
                continue
            wet = convolve(dry, ir)
            n = dry.shape[1]
            head = wet[:, :n]
            m = min(n, carry.shape[1])
            head[:, :m] += carry[:, :m]
            rest = wet[:, n:]
            left = carry[:, m:]
            k = max(rest.shape[1], left.shape[1])
            carry = torch.zeros(2, k)
            carry[:, :rest.shape[1]] += rest
            carry[:, :left.shape[1]] += left
            yield dry + self.reverb * head

    def _scale(self) -> float:
        return 10 ** (-1 / 20) / self._peak if self._peak else 1.0

    def blocks(self, progress: ProgressCallback | None = None) -> Iterator[torch.Tensor]:
        """The final audio, ``(2, n)`` float32 blocks in [-1, 1]."""
        if self._kept is None and self.seconds <= IN_MEMORY_S:
            self._kept = list(self._mixed(progress, "render"))
            self._peak = max(float(b.abs().max()) for b in self._kept)
        if self._kept is not None:
            for block in self._kept:
                yield (block * self._scale()).float()
            return
        if self._peak is None:
            self._peak = max(float(b.abs().max()) for b in self._mixed(progress, "render (level)"))
        for block in self._mixed(progress, "render"):
            yield (block * self._scale()).float()

    def audio(self, progress: ProgressCallback | None = None) -> torch.Tensor:
        """All the audio, ``(2, frames)`` (pieces up to :data:`IN_MEMORY_S`)."""
        if self.seconds > IN_MEMORY_S:
            raise ArtkitError(f"{_hms(self.seconds)} of audio is too long to hold in memory",
                              "write it to a WAV file (render(...).write_wav(path))")
        with one_thread():
            return torch.cat(list(self.blocks(progress)), dim=1)

    def write_wav(self, path: str | Path, progress: ProgressCallback | None = None) -> None:
        """Write 16-bit stereo PCM to ``path`` (standard-library ``wave``), block by block."""
        with one_thread(), wave.open(str(path), "wb") as w:
            w.setnchannels(2)
            w.setsampwidth(2)
            w.setframerate(self.sr)
            for block in self.blocks(progress):
                w.writeframes(_pcm(block))


def _pcm(audio: torch.Tensor) -> bytes:
    return (audio.clamp(-1, 1) * 32767).round().to(torch.int16).T.contiguous().numpy().tobytes()


def synthesize(song: MidiSong, sample_rate: int = 44100, seed: int = 0,
               reverb: float = 0.18, progress: ProgressCallback | None = None):
    """Render ``song`` with the built-in voices: ``((2, N) float32 in [-1, 1], sample_rate)``.

    N covers the song plus :data:`TAIL_S` seconds; the mix is normalised to -1 dBFS peak.
    Runs on one thread (note-by-note work: more threads only wait for each other).
    """
    r = Renderer(song, sample_rate, seed, reverb)
    return r.audio(progress), r.sr


def convolve(x: torch.Tensor, h: torch.Tensor, block: int = 1 << 15) -> torch.Tensor:
    """Full linear convolution of ``(C, N)`` signals with ``(C, M)`` impulse responses by FFT
    overlap-add in blocks (power-of-two FFTs; one FFT of a long odd length is many times
    slower)."""
    n, m = x.shape[-1], h.shape[-1]
    nfft = 1 << (block + m - 2).bit_length()
    H = torch.fft.rfft(h, nfft)                                   # (C, F)
    n_blocks = -(-n // block)
    xp = torch.nn.functional.pad(x, (0, n_blocks * block - n)).reshape(x.shape[0], n_blocks, block)
    y = torch.fft.irfft(torch.fft.rfft(xp, nfft) * H[:, None], nfft)   # (C, B, nfft)
    out = torch.zeros(x.shape[0], (n_blocks - 1) * block + nfft)
    for b in range(n_blocks):
        out[:, b * block:b * block + nfft] += y[:, b]
    return out[:, :n + m - 1]


def write_wav(path: str | Path, audio: torch.Tensor, sample_rate: int) -> None:
    """Write ``(C, N)`` float audio as 16-bit PCM WAV (standard-library ``wave``)."""
    if audio.dim() == 1:
        audio = audio[None]
    with wave.open(str(path), "wb") as w:
        w.setnchannels(audio.shape[0])
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(_pcm(audio))


def read_wav(path: str | Path) -> tuple[torch.Tensor, int]:
    """Read a 16-bit PCM WAV as ``((C, N) float32, sample_rate)``."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ArtkitError(f"'{path}' is not 16-bit PCM")
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        ch, sr = w.getnchannels(), w.getframerate()
    return torch.from_numpy(data.reshape(-1, ch).T.astype("float32") / 32768.0), sr


def check_soundfont(path: str | Path) -> Path:
    """Raise a clear error unless ``path`` is a SoundFont 2 file (RIFF … sfbk)."""
    p = Path(path)
    if not p.is_file():
        raise ArtkitError(f"SoundFont '{p}' does not exist")
    with open(p, "rb") as f:
        head = f.read(12)
    if head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise ArtkitError(f"'{p}' is not a SoundFont (.sf2) file",
                          "give a General-MIDI .sf2, e.g. from the Debian package timgm6mb-soundfont")
    return p


def render_fluidsynth(song: MidiSong, soundfont: str | Path, sample_rate: int = 44100,
                      output: str | Path | None = None):
    """Render with the FluidSynth binary and a SoundFont: ``((2, N) float32, sample_rate)``,
    or into ``output`` (a WAV file; then ``None`` is returned)."""
    sf = check_soundfont(soundfont)
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise ArtkitError("FluidSynth is not installed, so --soundfont cannot be used",
                          "install the Debian package fluidsynth, or leave out --soundfont for "
                          "the built-in synthesiser")
    with tempfile.TemporaryDirectory() as d:
        mid, wav = Path(d) / "in.mid", Path(d) / "out.wav"
        mid.write_bytes(write_midi(song))
        proc = subprocess.run([exe, "-ni", "-F", str(wav), "-r", str(sample_rate), "-T", "wav",
                               "-O", "s16", str(sf), str(mid)], capture_output=True, text=True,
                              timeout=600)
        if proc.returncode != 0 or not wav.is_file():
            raise ArtkitError(f"FluidSynth failed: {(proc.stderr or proc.stdout).strip()[:200]}")
        if output is not None:
            shutil.copyfile(wav, output)
            return None
        return read_wav(wav)
