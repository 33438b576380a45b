"""Shared pytest setup: a Hypothesis profile for CI, loaded by default; the small runs
that the analysis tests (trace, viz) draw from."""

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=False, deadline=None)
settings.load_profile("ci")


@pytest.fixture(scope="module")
def small_run():
    """Two clients, one value each, no loss: every copy delivered (a SimResult)."""
    from run_helper import small_sim_result  # pandas only for the tests that use it

    return small_sim_result()


@pytest.fixture(scope="module")
def lossy():
    """A simulated experiment with 20 % loss (an ExperimentResult)."""
    from run_helper import lossy_experiment

    return lossy_experiment()
