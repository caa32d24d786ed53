"""The class palette's rules: hues grouped by crop group, every pair of classes perceptually distinct.

The colours themselves live in the class table (``resources/brp_classes.csv``); they were chosen by
``scripts/make_palette.py`` under the rules below and a test holds the table to them. Distances are
CIEDE2000 (CIE Lab, D65), computed with the coloraide library (``pip install coloraide``; it is in the
``dev`` and ``palette`` extras: making a map never needs it, only checking a palette does).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from cropcube.classes import ClassTable, CropClass, load_class_table
from cropcube.errors import InputError

MIN_DELTA_E2000 = 10.0
"""Every pair of classes differs by at least this CIEDE2000 distance (2.3 is one just-noticeable
difference; 10 is "clearly different colours" for areas side by side)."""
MIN_DELTA_E2000_BACKGROUND = 15.0
"""Every class differs by at least this from white, the quicklook's "no parcel" background."""
LIGHTNESS_RANGE = (28.0, 92.0)
"""CIE L* of every class: darker colours hide the map's texture, lighter ones vanish on white."""
MIN_CHROMA = 20.0
"""CIE C* of every class: below it a colour reads as grey and its hue, the crop group, is lost."""

GROUP_HUES: dict[str, tuple[float, float]] = {
    # CIE LCh(ab, D65) hue sector of each crop group, in degrees, going round the colour wheel so that
    # related groups sit side by side: grass and nature green, fruit and trees blue-green, vegetables
    # cyan, "other" blue, onions violet, beet magenta, bulbs pink, potatoes red, maize orange, cereals
    # gold, fallow olive.
    "grassland": (115.0, 150.0),
    "nature": (150.0, 165.0),
    "fruit/trees": (165.0, 190.0),
    "vegetables": (190.0, 245.0),
    "other": (245.0, 300.0),
    "onion": (300.0, 320.0),
    "beet": (320.0, 345.0),
    "bulbs": (345.0, 380.0),  # across 0 degrees: 345..360 and 0..20
    "potato": (20.0, 45.0),
    "maize": (45.0, 70.0),
    "cereal": (70.0, 100.0),
    "fallow": (100.0, 115.0),
}


def map_colours(table: ClassTable) -> ClassTable:
    """``table`` with the packaged palette's colour for every class whose gewascode it knows.

    A bundle carries the colours of the class table it was exported with; maps use the current
    palette, so that a map made with an older bundle does not bring back its near-identical colours.
    Classes the packaged table does not know keep the bundle's colour.
    """
    packaged = {c.gewascode: c.color for c in load_class_table()}
    return ClassTable(
        tuple(
            CropClass(
                c.index,
                c.gewascode,
                c.name_nl,
                c.name_en,
                c.group,
                packaged.get(c.gewascode, c.color),
                c.pixels_2018,
            )
            for c in table
        ),
        unknown_index=table.unknown_index,
    )


def _coloraide() -> Any:
    try:
        import coloraide
    except ImportError:
        raise InputError(
            "palette check", "needs the coloraide package (pip install coloraide, or cropcube[dev])"
        ) from None
    return coloraide


def lch(color: str) -> tuple[float, float, float]:
    """CIE L*, C*, h (D65) of a ``#rrggbb`` colour; h in 0..360 degrees."""
    lightness, chroma, hue = _coloraide().Color(color).convert("lch-d65").coords(nans=False)
    return float(lightness), float(chroma), float(hue) % 360.0


def delta_e2000(a: str, b: str) -> float:
    """CIEDE2000 distance of two ``#rrggbb`` colours."""
    color = _coloraide().Color
    return float(color(a).delta_e(color(b), method="2000"))


def hue_in_sector(hue: float, sector: tuple[float, float]) -> bool:
    """Whether ``hue`` (degrees) lies in ``sector`` (from, to; ``to`` may exceed 360 to wrap round)."""
    lo, hi = sector
    return any(lo <= h <= hi for h in (hue % 360.0, hue % 360.0 + 360.0))


@dataclass(frozen=True)
class PaletteReport:
    """How a class table's colours meet the palette rules.

    Attributes:
        min_delta_e: the smallest CIEDE2000 distance between two classes.
        closest: the class indices of that pair.
        min_background_delta_e: the smallest distance of a class from white.
        close_pairs: every pair closer than :data:`MIN_DELTA_E2000`, as (index, index, distance).
        off_sector: classes whose hue is outside their group's sector, as (index, group, hue).
        off_lightness: classes whose L* is outside :data:`LIGHTNESS_RANGE`, as (index, L*).
        greyish: classes whose C* is below :data:`MIN_CHROMA`, as (index, C*).
    """

    min_delta_e: float
    closest: tuple[int, int]
    min_background_delta_e: float
    close_pairs: tuple[tuple[int, int, float], ...]
    off_sector: tuple[tuple[int, str, float], ...]
    off_lightness: tuple[tuple[int, float], ...]
    greyish: tuple[tuple[int, float], ...]

    @property
    def ok(self) -> bool:
        """Whether every rule holds."""
        return (
            not self.close_pairs
            and not self.off_sector
            and not self.off_lightness
            and not self.greyish
            and self.min_background_delta_e >= MIN_DELTA_E2000_BACKGROUND
        )

    def summary(self) -> str:
        """One line per finding."""
        lines = [
            f"min CIEDE2000 between classes {self.min_delta_e:.2f} (classes {self.closest[0]} and "
            f"{self.closest[1]}; rule >= {MIN_DELTA_E2000}), from white {self.min_background_delta_e:.2f} "
            f"(rule >= {MIN_DELTA_E2000_BACKGROUND})"
        ]
        lines += [f"  classes {a} and {b}: CIEDE2000 {d:.2f}" for a, b, d in self.close_pairs]
        lines += [f"  class {i}: hue {h:.0f} outside the {g!r} sector" for i, g, h in self.off_sector]
        lines += [f"  class {i}: L* {v:.0f} outside {LIGHTNESS_RANGE}" for i, v in self.off_lightness]
        lines += [f"  class {i}: C* {v:.0f} below {MIN_CHROMA}" for i, v in self.greyish]
        return "\n".join(lines)


def check_palette(table: ClassTable) -> PaletteReport:
    """Measure a class table's colours against the palette rules (see the module docstring)."""
    classes = list(table)
    if len(classes) < 2:
        raise InputError("palette check", "needs at least two classes")
    pairs = [(a.index, b.index, delta_e2000(a.color, b.color)) for a, b in itertools.combinations(classes, 2)]
    closest = min(pairs, key=lambda p: p[2])
    off_sector, off_lightness, greyish = [], [], []
    for c in classes:
        lightness, chroma, hue = lch(c.color)
        if not hue_in_sector(hue, GROUP_HUES[c.group]):
            off_sector.append((c.index, c.group, hue))
        if not LIGHTNESS_RANGE[0] <= lightness <= LIGHTNESS_RANGE[1]:
            off_lightness.append((c.index, lightness))
        if chroma < MIN_CHROMA:
            greyish.append((c.index, chroma))
    return PaletteReport(
        min_delta_e=closest[2],
        closest=(closest[0], closest[1]),
        min_background_delta_e=min(delta_e2000(c.color, "#ffffff") for c in classes),
        close_pairs=tuple(p for p in pairs if p[2] < MIN_DELTA_E2000),
        off_sector=tuple(off_sector),
        off_lightness=tuple(off_lightness),
        greyish=tuple(greyish),
    )
