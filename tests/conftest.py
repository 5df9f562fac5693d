"""Shared test settings."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _single_torch_thread():
    """The tests use tiny tensors: one intra-op thread is faster, and far faster when the CPUs are contended (with
    two threads the torch backward of a 3-unit LSTM took ~100x longer under load)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
