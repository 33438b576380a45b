"""Shared pytest setup: a Hypothesis profile for CI, loaded by default."""

from hypothesis import settings

settings.register_profile("ci", derandomize=False, deadline=None)
settings.load_profile("ci")
