import numpy as np
import pytest

from cropcube.classes import CROP_GROUPS, ClassTable, load_class_table
from cropcube.cube_spec import REFERENCE_2018_SPEC, CubeSpec
from cropcube.errors import InputError


def test_table_matches_reference_csv(shared_reference):
    import csv

    rows = list(csv.DictReader((shared_reference / "brp_76_classes.csv").open()))
    table = load_class_table()
    assert len(table) == len(rows) == 76
    for row, c in zip(rows, table, strict=True):
        assert c.index == int(row["class_index"])
        assert c.gewascode == int(row["brp_gewascode"])
        assert c.name_nl == row["gewas_name_nl"]
        assert c.pixels_2018 == int(row["pixels_2018_noordoostpolder"])


def test_every_class_has_group_english_name_and_distinct_colour():
    table = load_class_table()
    assert {c.group for c in table} <= set(CROP_GROUPS)
    assert all(c.name_en and c.name_en != c.name_nl for c in table if c.index not in (16,))
    colours = [c.color for c in table]
    assert len(set(colours)) == 76
    assert 0 in table.palette() and table.palette()[0][3] == 0


def test_lookups_both_ways_and_unknown_codes_are_counted():
    table = load_class_table()
    assert table.by_code(233).index == 21 and table.by_index(21).gewascode == 233
    out = table.codes_to_indices(np.array([[233, 265], [424242, 0]]))
    assert out.tolist() == [[21, 1], [0, 0]]
    assert table.unknown_counts == {424242: 1}
    other = load_class_table(unknown_index=76)
    assert other.index_of_code(1) == 76 and other.unknown_counts[1] == 1
    with pytest.raises(InputError, match="gewascode"):
        table.by_code(1)
    with pytest.raises(InputError, match="class index"):
        table.by_index(77)


def test_records_roundtrip():
    table = load_class_table()
    again = ClassTable.from_records(table.to_records())
    assert [c.gewascode for c in again] == [c.gewascode for c in table]


def test_reference_spec_layout():
    s = REFERENCE_2018_SPEC
    assert s.n_channels == 28 and s.channel(1, 0) == 4 and s.bands == ("B02", "B03", "B04", "B08")
    assert s.descriptions()[5] == "2018-03-19_B03"
    assert CubeSpec.from_descriptions(s.descriptions()) == s
    other = s.with_dates(["2019-03-22", "2019-04-21"])
    assert other.n_channels == 8 and other.day_of_year().tolist() == [81, 111]


@pytest.mark.parametrize(
    ("descriptions", "match"),
    [
        (["2018-01-08_B02", "bad"], "band 2 description"),
        (["2018-01-08_B02", "2018-01-08_B03", "2018-02-01_B02"], "full date-major grid"),
        (["2018-02-01_B02", "2018-01-08_B02"], "strictly increasing"),
    ],
)
def test_bad_descriptions_are_named(descriptions, match):
    with pytest.raises(InputError, match=match):
        CubeSpec.from_descriptions(descriptions, where="cube.tif")
