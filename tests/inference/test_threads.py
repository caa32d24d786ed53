"""Default thread count sized to the free CPUs: same results under load, the caller's setting left alone."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from conftest import field_cube

from cropcube.inference import Classifier
from cropcube.inference.cpu_load import _own_running, affinity_cpus, free_cpus

_SPIN = (
    "import os, sys, time\nos.sched_setaffinity(0, {int(sys.argv[1])})\nprint('spinning', flush=True)\n"
    "parent, end = os.getppid(), time.monotonic() + 120\n"
    "while os.getppid() == parent and time.monotonic() < end:\n    for _ in range(100000): pass"
)


@pytest.fixture
def all_cpus_busy() -> Iterator[None]:
    """One spinning process pinned to each CPU this process may use (ended after the test)."""
    procs = [
        subprocess.Popen([sys.executable, "-c", _SPIN, str(c)], stdout=subprocess.PIPE, text=True)
        for c in sorted(os.sched_getaffinity(0))
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "spinning"  # each one runs now
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def test_free_cpus_stays_within_one_and_the_maximum():
    assert _own_running() >= 1  # the calling thread itself runs
    for most in (1, 2, 64):
        assert 1 <= free_cpus(most) <= min(most, affinity_cpus())


def test_free_cpus_is_one_when_other_processes_fill_every_cpu(all_cpus_busy):
    assert free_cpus(64) == 1


@pytest.mark.parametrize("backend", ["native", "python"])
def test_results_are_the_same_under_load_and_the_callers_threads_are_kept(
    backend, bundle_path, all_cpus_busy, request
):
    if backend == "native":
        request.getfixturevalue("native_lib")
    cube = field_cube(300, 260, seed=3)  # several tiles of the fixture bundle
    torch.set_num_threads(2)
    busy = Classifier(bundle_path, backend=backend, tile_size=128).run(cube, confidence=True)
    assert torch.get_num_threads() == 2  # the kernel sized its own threads and gave the caller's back
    one = Classifier(bundle_path, backend=backend, tile_size=128, threads=1).run(cube, confidence=True)
    if backend == "native":  # the kernel applies a handle's thread count only while it runs
        assert torch.get_num_threads() == 2
    np.testing.assert_array_equal(busy.classes, one.classes)
    assert busy.confidence is not None and one.confidence is not None
    assert np.abs(busy.confidence.astype(int) - one.confidence.astype(int)).max() <= 1
