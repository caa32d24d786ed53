"""The one atomic publish: all-or-nothing publication, and orphans of killed writers (real SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cropcube.errors import InputError
from cropcube.io import atomic_output, exclusive_output, publication, remove_orphans
from cropcube.io.atomic import _HOST, TEMP_MARK


def _temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if TEMP_MARK in p.name)


def test_nothing_is_published_until_every_output_is_complete(tmp_path: Path) -> None:
    old = tmp_path / "map.tif"
    old.write_bytes(b"old map")
    with pytest.raises(RuntimeError), publication() as pub:
        pub.stage(old, last=True).write_bytes(b"new map")
        pub.stage(tmp_path / "map.json").write_text("{}")
        raise RuntimeError("the quicklook failed")
    assert old.read_bytes() == b"old map" and not (tmp_path / "map.json").exists()
    assert _temps(tmp_path) == []
    with publication() as pub:
        pub.stage(old, last=True).write_bytes(b"new map")
        pub.stage(tmp_path / "map.json").write_text("{}")
        assert pub.destinations == [tmp_path / "map.json", old]  # the main output renamed last
    assert old.read_bytes() == b"new map" and (tmp_path / "map.json").read_text() == "{}"
    assert _temps(tmp_path) == []


def test_a_staged_output_never_written_fails_the_publication(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="never written"), publication() as pub:
        pub.stage(tmp_path / "a.tif").write_bytes(b"a")
        pub.stage(tmp_path / "b.tif")
    assert list(tmp_path.iterdir()) == []


def test_gdal_side_files_move_with_their_raster(tmp_path: Path) -> None:
    dest = tmp_path / "crops.tif"
    with atomic_output(dest) as tmp:
        tmp.write_bytes(b"tiff")
        Path(f"{tmp}.aux.xml").write_text("<PAMDataset/>")  # a raster attribute table, say
        Path(f"{tmp}.ovr.tmp").write_bytes(b"GDAL's leftover")
    assert (tmp_path / "crops.tif.aux.xml").read_text() == "<PAMDataset/>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crops.tif", "crops.tif.aux.xml"]


def test_an_output_that_is_a_directory_is_refused_before_writing(tmp_path: Path) -> None:
    (tmp_path / "crops.tif").mkdir()
    with pytest.raises(InputError, match="is a directory"), atomic_output(tmp_path / "crops.tif"):
        pytest.fail("the block must not run")


_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from cropcube.io import atomic_output
    with atomic_output(Path(sys.argv[1])) as tmp:
        tmp.write_bytes(b"half a COG")
        Path(f"{tmp}.ovr.tmp").write_bytes(b"overviews in progress")
        print(tmp, flush=True)
        time.sleep(120)
    """
)


def _writer(dest: Path) -> tuple[subprocess.Popen[str], Path]:
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(dest)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line, "the writer did not start"
    return proc, Path(line)


def test_orphans_of_a_killed_writer_are_removed_and_a_running_writer_is_left_alone(tmp_path: Path) -> None:
    dest = tmp_path / "crops.tif"
    killed, killed_tmp = _writer(dest)
    running, running_tmp = _writer(dest)
    try:
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait(10)
        assert killed_tmp.exists() and Path(f"{killed_tmp}.ovr.tmp").exists()  # what a kill leaves
        with atomic_output(dest) as tmp:  # the next run on the same output
            tmp.write_bytes(b"complete")
        assert not killed_tmp.exists() and not Path(f"{killed_tmp}.ovr.tmp").exists()
        assert running_tmp.exists() and Path(f"{running_tmp}.ovr.tmp").exists()  # still being written
        assert dest.read_bytes() == b"complete"
    finally:
        running.kill()
        running.wait(10)
    assert sorted(p.name for p in remove_orphans(dest)) == sorted(
        [running_tmp.name, f"{running_tmp.name}.ovr.tmp"]
    )
    assert [p.name for p in tmp_path.iterdir()] == ["crops.tif"]


def test_a_reused_pid_does_not_keep_an_orphan_alive(tmp_path: Path) -> None:
    dest = tmp_path / "crops.tif"
    newcomer = subprocess.Popen(["sleep", "60"])
    try:
        stale = tmp_path / f".crops.tif{TEMP_MARK}{_HOST}.{newcomer.pid}.ab.tif"
        stale.write_bytes(b"left an hour ago by a process that had this pid then")
        an_hour_ago = time.time() - 3600
        os.utime(stale, (an_hour_ago, an_hour_ago))
        assert remove_orphans(dest) == [stale]
    finally:
        newcomer.kill()
        newcomer.wait(10)


def test_another_hosts_files_are_left_for_a_day(tmp_path: Path) -> None:
    dest = tmp_path / "crops.tif"
    recent = tmp_path / f".crops.tif{TEMP_MARK}00000000.1.aa.tif"
    old = tmp_path / f".crops.tif{TEMP_MARK}00000000.2.bb.tif"
    for p in (recent, old):
        p.write_bytes(b"x")
    two_days_ago = time.time() - 2 * 86400
    os.utime(old, (two_days_ago, two_days_ago))
    assert remove_orphans(dest) == [old]
    assert recent.exists()


def test_one_job_per_output(tmp_path: Path) -> None:
    dest = tmp_path / "crops.tif"
    with (
        exclusive_output(dest),
        pytest.raises(InputError, match="another cropcube job"),
        exclusive_output(dest),
    ):
        pass
    with exclusive_output(dest):  # released: the next job gets it
        pass
    assert list(tmp_path.iterdir()) == []
