from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # gdal_readback, stac_validation


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: the CI machine is shared, and oversubscribed OpenMP barriers crawl."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
