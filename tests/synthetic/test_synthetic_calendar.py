"""The packaged crop calendar: complete, documented, consistent; bad tables are refused clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from cropcube.classes import load_class_table
from cropcube.errors import InputError
from cropcube.synthetic import load_crop_calendar

SOURCE_KEYS = {"KA", "KWIN", "MARS", "PPO", "HMV", "S2", "FL", "EST"}


def test_every_class_has_a_documented_row() -> None:
    table = load_class_table()
    calendars = load_crop_calendar(table)
    assert [c.gewascode for c in calendars] == [k.gewascode for k in table]
    for cal in calendars:
        assert cal.source and set(cal.source.split(";")) <= SOURCE_KEYS, cal.gewascode
        assert cal.has_season or cal.base_cover > 0, cal.gewascode  # something grows


def test_alike_crops_have_close_calendars() -> None:
    by_code = {c.gewascode: c for c in load_crop_calendar(load_class_table())}
    seed_nak, seed_tbm, ware = by_code[2015], by_code[2016], by_code[2014]
    assert seed_nak.harvest == seed_tbm.harvest
    assert abs(seed_nak.senesce - ware.senesce) <= 10 and abs(seed_nak.harvest - ware.harvest) <= 10
    assert by_code[233].harvest - by_code[235].harvest <= 20  # winter wheat vs winter barley
    assert by_code[265].cuts >= 3 and by_code[266].cuts >= 3  # grasslands are mown
    assert by_code[233].emerge < 0 < by_code[259].emerge  # winter wheat emerges before the year


def _write(tmp_path: Path, body: str) -> Path:
    header = (
        "gewascode,name_en,sow,emerge,peak,senesce,harvest,peak_cover,base_cover,dry_fraction,post,cuts,"
        "first_cut,cut_interval,jitter_days,c_b02,c_b03,c_b04,c_b08,source\n"
    )
    path = tmp_path / "calendar.csv"
    path.write_text("# comment\n" + header + body)
    return path


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("265,Grass,0,0,0,0,0,0,0.9,0.2,mown,4,135,42,8,0.02,0.05,0.02,0.5,EST", "post 'mown'"),
        ("265,Grass,0,100,90,150,200,0.9,0,0.2,bare,0,0,0,8,0.02,0.05,0.02,0.5,EST", "emerge < peak"),
        ("265,Grass,0,0,0,0,0,1.5,0.9,0.2,none,4,135,42,8,0.02,0.05,0.02,0.5,EST", "0..1"),
        ("265,Grass,x,0,0,0,0,0,0.9,0.2,none,4,135,42,8,0.02,0.05,0.02,0.5,EST", "data row"),
    ],
)
def test_bad_rows_are_named(tmp_path: Path, row: str, problem: str) -> None:
    path = _write(tmp_path, row + "\n")
    with pytest.raises(InputError, match=problem) as err:
        load_crop_calendar(load_class_table(), path)
    assert str(path) in err.value.what


def test_missing_classes_and_files_are_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "265,Grass,0,0,0,0,0,0,0.9,0.2,none,4,135,42,8,0.02,0.05,0.02,0.5,EST\n")
    with pytest.raises(InputError, match="no row for gewascodes"):
        load_crop_calendar(load_class_table(), path)
    with pytest.raises(InputError, match="cannot read"):
        load_crop_calendar(load_class_table(), tmp_path / "absent.csv")
    bad = tmp_path / "columns.csv"
    bad.write_text("gewascode,name\n265,Grass\n")
    with pytest.raises(InputError, match="needs columns"):
        load_crop_calendar(load_class_table(), bad)
