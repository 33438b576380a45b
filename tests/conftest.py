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


# ------------------------------------------------- widgets (test_widgets, test_stepper)


@pytest.fixture
def no_leftover_figures():
    """Fail a test whose widgets leave a matplotlib figure open -- only figures it opened
    itself, and closing them all, so that one leak does not fail every later test."""
    import matplotlib.pyplot as plt

    before = set(plt.get_fignums())
    yield
    leaked = sorted(set(plt.get_fignums()) - before)
    plt.close("all")
    assert leaked == [], f"figures left open: {leaked}"


@pytest.fixture
def clears(monkeypatch):
    """Count Output.clear_output(wait=True) calls of every widget."""
    from paxos_edu import widgets

    calls = []
    real = widgets.w.Output.clear_output

    def spy(self, *args, **kwargs):
        calls.append(kwargs.get("wait", args[0] if args else False))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(widgets.w.Output, "clear_output", spy)
    return calls


@pytest.fixture
def no_pictures(monkeypatch):
    """Skip rendering PNGs where a test is about something else (they cost ~0.2 s each)."""
    import matplotlib.pyplot as plt

    from paxos_edu import widgets

    monkeypatch.setattr(widgets, "figure_image", lambda fig, dpi=80: plt.close(fig) or "png")
