#!/usr/bin/env python3
"""Choose the class colours of resources/brp_classes.csv under the rules of cropcube.maps.palette.

Every class keeps the hue sector of its crop group (GROUP_HUES) and a lightness in LIGHTNESS_RANGE;
within those bounds the colours are moved, one at a time, to push apart the closest pairs (a soft
maximin of the CIEDE2000 distances, also from white). Deterministic for a seed. Prints the report
and, with --write, rewrites the colour column of the CSV (nothing else in it changes).

    .venv/bin/python scripts/make_palette.py --iterations 40000 --write
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import random
from importlib import resources
from pathlib import Path

from coloraide import Color

from cropcube.classes import CROP_GROUPS, load_class_table
from cropcube.maps.palette import (
    GROUP_HUES,
    LIGHTNESS_RANGE,
    MIN_CHROMA,
    MIN_DELTA_E2000,
    MIN_DELTA_E2000_BACKGROUND,
    check_palette,
)

WHITE = Color("#ffffff")


def to_color(lch: tuple[float, float, float]) -> Color | None:
    c = Color("lch-d65", list(lch))
    return c if c.in_gamut("srgb", tolerance=0) else None


def hexed(c: Color) -> Color:
    """The colour as it will be stored (8 bits per channel)."""
    return Color(c.convert("srgb").to_string(hex=True))


def distance(a: Color, b: Color) -> float:
    """CIEDE2000; the distance from white counts less by the extra margin white needs."""
    d = a.delta_e(b, method="2000")
    return d - (MIN_DELTA_E2000_BACKGROUND - MIN_DELTA_E2000) if b is WHITE else d


def energy_row(i: int, colors: list[Color], temperature: float) -> float:
    others = [WHITE, *(c for j, c in enumerate(colors) if j != i)]
    return sum(math.exp(-distance(colors[i], o) / temperature) for o in others)


def nearest(i: int, colors: list[Color]) -> float:
    return min(distance(colors[i], o) for o in [WHITE, *(c for j, c in enumerate(colors) if j != i)])


def initial(groups: list[str], rng: random.Random) -> list[tuple[float, float, float]]:
    """Spread each group's classes over its sector and over lightness, at a high in-gamut chroma."""
    out: list[tuple[float, float, float]] = [(0.0, 0.0, 0.0)] * len(groups)
    for g in CROP_GROUPS:
        members = [i for i, x in enumerate(groups) if x == g]
        lo, hi = GROUP_HUES[g]
        for k, i in enumerate(members):
            h = lo + 2 + (hi - lo - 4) * (k + 0.5) / len(members)
            lightness = (
                LIGHTNESS_RANGE[0] + 10 + (LIGHTNESS_RANGE[1] - LIGHTNESS_RANGE[0] - 20) * rng.random()
            )
            chroma = 60.0
            while chroma > MIN_CHROMA + 2 and to_color((lightness, chroma, h % 360)) is None:
                chroma -= 2.0
            out[i] = (lightness, chroma, h % 360)
    return out


def propose(
    lch: tuple[float, float, float], sector: tuple[float, float], rng: random.Random, scale: float
) -> tuple[float, float, float] | None:
    lightness = min(max(lch[0] + rng.gauss(0, 6 * scale), LIGHTNESS_RANGE[0] + 1), LIGHTNESS_RANGE[1] - 1)
    chroma = max(lch[1] + rng.gauss(0, 8 * scale), MIN_CHROMA + 2)
    h = lch[2] if lch[2] >= sector[0] else lch[2] + 360
    h = min(max(h + rng.gauss(0, 4 * scale), sector[0] + 2), sector[1] - 2) % 360
    return (lightness, chroma, h) if to_color((lightness, chroma, h)) is not None else None


def optimise(iterations: int, seed: int) -> list[str]:
    table = load_class_table()
    groups = [c.group for c in table]
    rng = random.Random(seed)
    lchs = initial(groups, rng)
    colors = [hexed(to_color(x) or Color("lch-d65", list(x)).fit("srgb")) for x in lchs]
    n = len(colors)
    # Phase 1, annealed soft maximin: a class drawn in proportion to its share of the energy (the
    # crowded ones) moves when that lowers its energy; the soft minimum sharpens as it cools.
    for chunk in range(0, iterations, 1000):
        temperature = 3.0 - 2.2 * chunk / iterations
        scale = 1.0 - 0.8 * chunk / iterations
        rows = [energy_row(i, colors, temperature) for i in range(n)]
        print(f"iteration {chunk}: energy {sum(rows):.4f} at temperature {temperature:.2f}", flush=True)
        for _ in range(1000):
            i = rng.choices(range(n), weights=rows)[0]
            new = propose(lchs[i], GROUP_HUES[groups[i]], rng, scale)
            if new is None:
                continue
            old = colors[i]
            colors[i] = hexed(to_color(new))  # type: ignore[arg-type]
            row = energy_row(i, colors, temperature)
            if row < rows[i]:
                lchs[i], rows[i] = new, row
            else:
                colors[i] = old
    # Phase 2, hard maximin: move a member of the closest pair only when that pushes its nearest
    # neighbour away and brings no other class as close (distances cached, one row updated per move).
    others = [WHITE, *colors]
    dist = [[distance(c, o) if o is not c else math.inf for o in others] for c in colors]
    for _ in range(iterations // 4):
        near = [min(row) for row in dist]
        worst = min(near)
        i = rng.choice([k for k in range(n) if near[k] <= worst + 1e-9])
        new = propose(lchs[i], GROUP_HUES[groups[i]], rng, 0.25)
        if new is None:
            continue
        cand = hexed(to_color(new))  # type: ignore[arg-type]
        row = [distance(cand, o) if k != i + 1 else math.inf for k, o in enumerate(others)]
        if min(row) > near[i]:
            lchs[i], colors[i], others[i + 1], dist[i] = new, cand, cand, row
            for j in range(n):
                if j != i:
                    dist[j][i + 1] = row[j + 1]
    return [c.to_string(hex=True) for c in colors]


def write_colors(path: Path, colors: list[str]) -> None:
    text = path.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    for r, c in zip(rows, colors, strict=True):
        r["color"] = c
    out = io.StringIO()
    newline = "\r\n" if "\r\n" in text else "\n"  # keep the file's line ends: a diff shows only colours
    w = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator=newline)
    w.writeheader()
    w.writerows(rows)
    path.write_bytes(out.getvalue().encode("utf-8"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--iterations", type=int, default=40000)
    p.add_argument("--seed", type=int, default=17)
    p.add_argument("--write", action="store_true", help="rewrite the colour column of the packaged CSV")
    args = p.parse_args()
    colors = optimise(args.iterations, args.seed)
    path = Path(str(resources.files("cropcube").joinpath("resources/brp_classes.csv")))
    if args.write:
        write_colors(path, colors)
        print(f"wrote {path}")
    from cropcube.classes import ClassTable, CropClass

    table = load_class_table()
    new = ClassTable(
        tuple(
            CropClass(c.index, c.gewascode, c.name_nl, c.name_en, c.group, col, c.pixels_2018)
            for c, col in zip(table, colors, strict=True)
        )
    )
    print(check_palette(new).summary())


if __name__ == "__main__":
    main()
