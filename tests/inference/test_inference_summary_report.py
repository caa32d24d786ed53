"""The human-readable report of `cropcube classify`: counts, shares and a class column that fits."""

from __future__ import annotations

from cropcube.classes import load_class_table
from cropcube.inference.files import ClassifySummary


def _summary(counts: dict[int, int]) -> ClassifySummary:
    return ClassifySummary("cube.tif", "crops.tif", None, None, 10, 10, 0, class_counts=counts)


def test_class_rows_align_with_the_longest_brp_name() -> None:
    names = load_class_table().names()
    longest = max(range(1, len(names)), key=lambda i: len(names[i]))
    counts = {1: 600, longest: 300, 4: 100}
    rows = [line for line in _summary(counts).format(names=names).splitlines() if line.endswith("%")]
    assert len(rows) == 3
    # Most frequent first, and every count ends in the same column even next to the longest name.
    assert [int(r.split()[0]) for r in rows] == [1, longest, 4]
    assert len({r.index(" px ") for r in rows}) == 1
    assert names[longest] in rows[1]
    assert [r.split()[-2] for r in rows] == ["60.0", "30.0", "10.0"]


def test_top_limits_the_rows_and_unnamed_classes_still_print() -> None:
    counts = {k: 100 - k for k in range(1, 20)}
    rows = [line for line in _summary(counts).format(top=5).splitlines() if line.endswith("%")]
    assert [int(r.split()[0]) for r in rows] == [1, 2, 3, 4, 5]
