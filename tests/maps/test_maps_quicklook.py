"""The quicklook legend is never clipped: small, wide and tall maps, long names, many classes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cropcube.classes import ClassTable, CropClass, load_class_table
from cropcube.maps.quicklook import MARGIN, write_quicklook

TITLE = "s2_flevoland_2018_100x100_7dates_x_4bands_dn.tif - tae_fpn 0.3.0-synthetic"


def _long_named_table() -> ClassTable:
    base = load_class_table()
    long = "Grassland, natural. Area with a nature management type mainly used for farming (CAP)"
    return ClassTable(
        tuple(
            CropClass(
                c.index, c.gewascode, c.name_nl, long if c.index % 3 == 0 else c.name_en, c.group, c.color, 0
            )
            for c in base
        )
    )


def _map(shape: tuple[int, int], classes: int, seed: int = 0) -> np.ndarray:
    # Every class present, with distinct frequencies (class k covers about k times class 1's pixels).
    rng = np.random.default_rng(seed)
    weights = np.arange(1, classes + 1, dtype=float)
    return rng.choice(np.arange(1, classes + 1), size=shape, p=weights / weights.sum()).astype(np.uint8)


def _check_not_clipped(layout, png_path) -> None:
    with Image.open(png_path) as im:
        assert im.size == layout.size
        rgb = np.asarray(im.convert("RGB")).astype(int)
    width, height = layout.size
    for box in layout.text_boxes:
        assert box.inside(width, height), f"text box {box} leaves the {width}x{height} canvas"
        # Something is drawn in every text box (dark glyph pixels on the white background).
        x0, y0, x1, y1 = (round(v) for v in (box.x0, box.y0, box.x1, box.y1))
        assert (rgb[y0:y1, x0:x1].sum(axis=2) < 300).any(), f"text box {box} is empty"
    # Nothing touches the edges: a blank margin all round the image.
    edge = MARGIN // 2
    for strip in (rgb[:edge], rgb[-edge:], rgb[:, :edge], rgb[:, -edge:]):
        assert (strip == 255).all(), "something is drawn in the outer margin"


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("small", (40, 60)),
        ("wide", (60, 1600)),
        ("tall", (1600, 40)),
        ("tiny", (2, 3)),
        ("square", (700, 700)),
    ],
)
def test_legend_lies_inside_the_canvas(tmp_path, name, shape):
    table = _long_named_table()
    classes = _map(shape, 40 if name != "tiny" else 6)
    layout = write_quicklook(tmp_path / f"{name}.png", classes, table, title=TITLE)
    _check_not_clipped(layout, tmp_path / f"{name}.png")
    present = len(np.unique(classes))
    shown = len(layout.labels) - (1 if layout.folded_classes else 0)
    assert shown + layout.folded_classes == present
    if layout.folded_classes:
        assert layout.labels[-1].startswith(f"{layout.folded_classes} other classes")
    # Most frequent first: the top entry is the most frequent class.
    values, counts = np.unique(classes, return_counts=True)
    assert layout.labels[0].startswith(f"{values[np.argmax(counts)]} ")


def test_small_map_with_many_classes_gets_an_other_classes_line(tmp_path):
    classes = _map((30, 30), 76)
    layout = write_quicklook(tmp_path / "q.png", classes, load_class_table())
    assert layout.folded_classes > 0
    last = layout.labels[-1]
    assert last.startswith(f"{layout.folded_classes} other classes (")
    # The shares add up: the shown classes plus "other classes" make 100 %.
    shares = [float(label.rsplit("(", 1)[1].split("\u00a0")[0]) for label in layout.labels]
    assert sum(shares) == pytest.approx(100.0, abs=0.05 * len(shares))
    _check_not_clipped(layout, tmp_path / "q.png")


def test_a_map_of_only_no_parcel_draws_no_legend(tmp_path):
    layout = write_quicklook(
        tmp_path / "empty.png", np.zeros((50, 50), np.uint8), load_class_table(), "empty"
    )
    assert layout.labels == () and layout.folded_classes == 0
    _check_not_clipped(layout, tmp_path / "empty.png")
