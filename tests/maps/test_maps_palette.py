"""Every pair of classes perceptually distinct; hues grouped by crop group (CIEDE2000 by coloraide)."""

from __future__ import annotations

import itertools

import pytest

from cropcube.classes import CROP_GROUPS, ClassTable, CropClass, load_class_table
from cropcube.maps.palette import (
    GROUP_HUES,
    LIGHTNESS_RANGE,
    MIN_CHROMA,
    MIN_DELTA_E2000,
    MIN_DELTA_E2000_BACKGROUND,
    check_palette,
    delta_e2000,
    hue_in_sector,
    lch,
)

# Sharma, Wu & Dalal (2005), "The CIEDE2000 color-difference formula: implementation notes,
# supplementary test data": Lab pairs and their published distances (a sample of the 34 pairs).
SHARMA = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, -1.3802, -84.2814), (50.0, 0.0, -82.7485), 1.0),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((50.0, 2.5, 0.0), (50.0, 3.2592, 0.335), 1.0),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((22.7233, 20.0904, -46.694), (23.0331, 14.973, -42.5619), 2.0373),
    ((90.9257, -0.5406, -0.9208), (88.6381, -0.8985, -0.7239), 1.5381),
]


@pytest.mark.parametrize(("lab1", "lab2", "expected"), SHARMA)
def test_the_library_distance_is_ciede2000(lab1, lab2, expected):
    from coloraide import Color

    got = Color("lab-d65", list(lab1)).delta_e(Color("lab-d65", list(lab2)), method="2000")
    assert got == pytest.approx(expected, abs=1e-4)


def test_every_pair_of_classes_is_perceptually_distinct():
    table = load_class_table()
    report = check_palette(table)
    assert report.ok, report.summary()
    assert report.min_delta_e >= MIN_DELTA_E2000
    assert report.min_background_delta_e >= MIN_DELTA_E2000_BACKGROUND
    # Recomputed pair by pair, not trusting the report.
    worst = min(delta_e2000(a.color, b.color) for a, b in itertools.combinations(table, 2))
    assert worst == pytest.approx(report.min_delta_e)
    # The pairs the issue found nearly identical are now far apart.
    for a, b in ((13, 33), (2, 55), (61, 76), (7, 62), (12, 63)):
        assert delta_e2000(table.by_index(a).color, table.by_index(b).color) >= MIN_DELTA_E2000


def test_hues_are_grouped_by_crop_group():
    table = load_class_table()
    assert set(GROUP_HUES) == set(CROP_GROUPS)
    for c in table:
        lightness, chroma, hue = lch(c.color)
        assert hue_in_sector(hue, GROUP_HUES[c.group]), (c.index, c.group, hue)
        assert chroma >= MIN_CHROMA and LIGHTNESS_RANGE[0] <= lightness <= LIGHTNESS_RANGE[1]
    # The sectors tile the colour wheel without overlapping.
    sectors = sorted(GROUP_HUES.values())
    assert sum(hi - lo for lo, hi in sectors) == pytest.approx(360.0)
    for (_, hi), (lo, _) in itertools.pairwise(sectors):
        assert hi == lo


def test_the_check_finds_close_colours_and_hues_out_of_their_group():
    base = load_class_table()
    bad = ClassTable(
        tuple(
            CropClass(
                c.index,
                c.gewascode,
                c.name_nl,
                c.name_en,
                c.group,
                base.by_index(1).color if c.index == 2 else ("#2040ff" if c.index == 3 else c.color),
                0,
            )
            for c in base
        )
    )
    report = check_palette(bad)
    assert not report.ok
    assert (1, 2, pytest.approx(0.0)) in [(a, b, d) for a, b, d in report.close_pairs]
    assert [i for i, _, _ in report.off_sector] == [3]  # a blue cereal
    assert "classes 1 and 2" in report.summary()


def test_maps_use_the_current_palette_whatever_the_bundle_carries():
    from importlib import resources

    from cropcube.bundle.io import read_metadata
    from cropcube.maps.palette import map_colours

    bundle = read_metadata(
        str(resources.files("cropcube").joinpath("resources/models/cropcube_default_synthetic.pt"))
    )
    shown = map_colours(bundle.classes)
    packaged = load_class_table()
    assert [c.color for c in shown] == [packaged.by_code(c.gewascode).color for c in bundle.classes]
    assert [c.name_en for c in shown] == [c.name_en for c in bundle.classes]
    assert check_palette(shown).ok
    # A class the packaged table does not know keeps its own colour.
    odd = ClassTable((CropClass(1, 99999, "x", "x", "other", "#123456", 0),))
    assert map_colours(odd).by_index(1).color == "#123456"
