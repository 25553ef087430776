"""Maps as people draw them: seams, JPEG, palettes, bilinear scaling, a genuine stray region."""

import io
from itertools import combinations

import numpy as np
import pytest
from PIL import Image

from artkit.core.errors import ArtkitError
from artkit.doodle.maps import find_regions, hex_colour, map_rgb, prepare_maps

PALETTE = np.array([(0, 255, 0), (255, 255, 255), (0, 0, 255), (255, 51, 31)], np.uint8)


def _layout(h=48, w=64) -> np.ndarray:
    """Four regions, every pair of them sharing a border: a band of region 3 across the
    middle, regions 0 | 1 above it, 2 | 0 below it, and 1 | 2 meeting at its right end."""
    lab = np.zeros((h, w), np.int64)
    lab[: h // 3, : w // 2] = 0
    lab[: h // 3, w // 2:] = 1
    lab[h // 3: 2 * h // 3, : 3 * w // 4] = 3
    lab[h // 3: 2 * h // 3, 3 * w // 4:] = 2
    lab[2 * h // 3:, : w // 2] = 2
    lab[2 * h // 3:, w // 2:] = 0
    lab[h // 3: h // 2, 7 * w // 8:] = 1
    return lab


def _touching_pairs(lab):
    pairs = set()
    for a, b in ((lab[:, 1:], lab[:, :-1]), (lab[1:], lab[:-1])):
        m = a != b
        pairs |= {tuple(sorted(p)) for p in zip(a[m].tolist(), b[m].tolist())}
    return pairs


def _with_seams(lab: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Paint the map and put a seam ``width`` px wide on every horizontal border: colours
    stepping from one region's colour to the other's (the midpoint when width is 1).
    Returns the map and, per pixel, the region its colour is nearer to (the truth)."""
    rgb = PALETTE[lab].astype(np.float64)
    truth = lab.copy()
    h, w = lab.shape
    for y in range(h):
        for x in range(1, w):
            a, b = lab[y, x - 1], lab[y, x]
            if a == b:
                continue
            for i in range(width):  # pixels x − width//2 ... on the border
                xx = x - width // 2 + i
                if 0 <= xx < w:
                    t = (i + 1) / (width + 1)
                    rgb[y, xx] = (1 - t) * PALETTE[a] + t * PALETTE[b]
                    truth[y, xx] = a if t < 0.5 else b if t > 0.5 else -1
    return np.round(rgb).astype(np.uint8), truth


def test_layout_touches_every_pair():
    assert _touching_pairs(_layout()) == set(combinations(range(4), 2))


@pytest.mark.parametrize("width", [1, 2, 3])
def test_seams_between_every_pair_snap_to_the_nearer_neighbour(width):
    lab = _layout()
    rgb, truth = _with_seams(lab, width)
    # as a style map: exactly the four regions, no phantom seam colour
    style = find_regions(rgb, what="style map")
    assert sorted(map(hex_colour, style.palette)) == sorted(map(hex_colour, PALETTE))
    # as a doodle over the style palette: no error, every seam pixel on the nearer side
    doodle = find_regions(rgb, PALETTE, what="doodle")
    known = truth >= 0
    assert np.array_equal(doodle.labels[known], truth[known])
    assert doodle.snapped > 0


def test_midpoint_seams_take_one_of_their_two_neighbours():
    lab = _layout()
    rgb, truth = _with_seams(lab, 1)
    doodle = find_regions(rgb, PALETTE)
    for y, x in zip(*np.nonzero(truth < 0)):
        assert doodle.labels[y, x] in (lab[y, x - 1], lab[y, x])


@pytest.mark.parametrize("quality", [90, 75, 50])
def test_jpeg_saved_maps(quality):
    lab = np.kron(_layout(24, 32), np.ones((4, 4), np.int64))  # 96x128
    buf = io.BytesIO()
    Image.fromarray(PALETTE[lab]).save(buf, "JPEG", quality=quality)
    rgb = map_rgb(Image.open(buf))
    style = find_regions(rgb)
    assert len(style.palette) == 4
    near = np.abs(style.palette[:, None].astype(int) - PALETTE[None].astype(int)).max(-1).min(1)
    assert near.max() < 30  # every region colour is one of the painted colours, JPEG-shifted
    doodle = find_regions(rgb, PALETTE)
    assert (doodle.labels == lab).mean() > 0.99


def test_palette_png_reads_exactly():
    lab = _layout()
    im = Image.fromarray(lab.astype(np.uint8), "P")
    im.putpalette(PALETTE.tobytes())
    buf = io.BytesIO()
    im.save(buf, "PNG")
    style = find_regions(map_rgb(Image.open(buf)))
    assert np.array_equal(style.palette[style.labels], PALETTE[lab]) and style.snapped == 0


@pytest.mark.parametrize("factor", [0.5, 3.0])
def test_bilinear_scaled_maps(factor):
    lab = np.kron(_layout(24, 32), np.ones((2, 2), np.int64))  # 48x64
    w, h = round(64 * factor), round(48 * factor)
    scaled = Image.fromarray(PALETTE[lab]).resize((w, h), Image.Resampling.BILINEAR)
    truth = np.asarray(Image.fromarray(lab.astype(np.uint8)).resize((w, h), Image.Resampling.NEAREST))
    style = find_regions(map_rgb(scaled))
    assert len(style.palette) == 4
    doodle = find_regions(map_rgb(scaled), PALETTE)
    assert (doodle.labels == truth).mean() > 0.95


def test_a_genuine_fifth_region_is_an_error_naming_its_box_and_share():
    lab = _layout()
    rgb = PALETTE[lab].copy()
    rgb[30:40, 8:20] = (128, 0, 128)  # 12 x 10 px of purple
    with pytest.raises(ArtkitError) as err:
        find_regions(rgb, PALETTE, what="doodle")
    text = err.value.one_line()
    assert "doodle colour #800080 paints a region the style map does not have" in text
    assert "x 8–19, y 30–39" in text and "3.9 % of the doodle" in text
    assert "#00ff00, #ffffff, #0000ff, #ff331f" in text
    # thin strokes of a stray colour are anti-aliasing, not a region
    rgb = PALETTE[lab].copy()
    rgb[30:32, 8:40] = (128, 0, 128)
    assert find_regions(rgb, PALETTE).snapped == 64


def test_style_map_frame_and_seams_are_no_regions():
    lab = _layout()
    rgb, _ = _with_seams(lab, 2)
    rgb[0, :] = rgb[-1, :] = rgb[:, 0] = rgb[:, -1] = (0, 0, 0)  # a 1-px frame, as Mia_sem has
    assert len(find_regions(rgb).palette) == 4


def test_prepare_maps_reads_rgba_and_resizes_labels():
    lab = _layout()
    rgba = np.dstack([PALETTE[lab], np.full(lab.shape, 255, np.uint8)])
    maps = prepare_maps((32, 24), Image.fromarray(rgba, "RGBA"), Image.fromarray(PALETTE[lab]),
                        target_size=(128, 96))
    assert maps.style_labels.shape == (24, 32) and maps.target_labels.shape == (96, 128)
    assert maps.regions == 4 and any("doodle resized" in n for n in maps.notes)


def test_a_map_without_regions_is_refused():
    noise = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    with pytest.raises(ArtkitError, match="colour"):
        find_regions(noise)


def test_neural_doodle_maps_read_as_their_author_meant(shared_data):
    folder = shared_data / "doodle"
    expected = {"Monet_sem.png": 5, "Coastline_sem.png": 5, "Gogh_sem.png": 6, "Mia_sem.png": 8}
    for name, count in expected.items():
        assert len(find_regions(map_rgb(Image.open(folder / name))).palette) == count, name
    monet = find_regions(map_rgb(Image.open(folder / "Monet_sem.png")))
    find_regions(map_rgb(Image.open(folder / "Coastline_sem.png")), monet.palette)


def test_coastline_with_anti_aliased_seams_everywhere(shared_data):
    folder = shared_data / "doodle"
    monet = find_regions(map_rgb(Image.open(folder / "Monet_sem.png")))
    clean = find_regions(map_rgb(Image.open(folder / "Coastline_sem.png")), monet.palette).labels
    # drawn at 4x and filtered down: every border between every pair becomes a blend
    big = Image.fromarray(monet.palette[clean]).resize((512 * 4, 384 * 4), Image.Resampling.NEAREST)
    aa = map_rgb(big.resize((512, 384), Image.Resampling.BOX))
    doodle = find_regions(aa, monet.palette)
    assert (doodle.labels == clean).mean() > 0.995
