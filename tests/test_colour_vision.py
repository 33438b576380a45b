"""The pictures' palette stays readable under colour-vision deficiencies (issue 17 #19)."""

import pytest

from paxos_edu.colour_vision import VISIONS, closest_pairs, delta_e, lab
from paxos_edu.errors import UsageError
from paxos_edu.lamport.model import KIND_COLORS as LAMPORT_KIND_COLORS
from paxos_edu.viz_style import DROP_COLOR, KIND_COLORS

MIN_DELTA_E = 15.0
"""Smallest CIE76 ΔE between two message kinds (or a kind and a drop), for every vision."""


def test_lab_of_white_and_black():
    assert lab("#FFFFFF") == pytest.approx([100.0, 0.0, 0.0], abs=0.05)
    assert lab("#000000") == pytest.approx([0.0, 0.0, 0.0], abs=1e-6)


def test_machado_matrices_keep_grey_grey():
    # each row of a Machado matrix sums to 1: a grey stays the same grey for every vision
    for vision in VISIONS:
        assert delta_e("#777777", "#777777", vision) == 0.0
        assert lab("#777777", vision) == pytest.approx(lab("#777777"), abs=0.1)


def test_simulation_merges_red_and_green_for_deuteranopes():
    # the classic confusion pair: far apart for normal vision, close for a deuteranope
    assert delta_e("#CC3333", "#888800") > 40
    assert delta_e("#CC3333", "#888800", "deuteranopia") < 20


def test_old_palette_fails_the_check():
    # the colours of issue 17: teal catch-up and grey heartbeat, ΔE ≈ 3 for a deuteranope
    assert delta_e("#44AA99", "#999999", "deuteranopia") < 5
    assert delta_e("#44AA99", "#CC79A7", "deuteranopia") < 5


@pytest.mark.parametrize("vision", sorted(VISIONS))
def test_every_two_message_kinds_stay_apart(vision):
    palette = {**KIND_COLORS, "drop": DROP_COLOR}
    worst = closest_pairs(palette, vision)[0]
    distance, a, b = worst
    assert distance >= MIN_DELTA_E, f"{vision}: {a} and {b} are ΔE {distance:.1f} apart"


def test_drop_colour_is_no_kind_colour():
    assert DROP_COLOR not in KIND_COLORS.values()


def test_lamport_diagram_uses_the_same_palette():
    assert LAMPORT_KIND_COLORS == KIND_COLORS


def test_bad_colour_is_a_usage_error():
    with pytest.raises(UsageError, match="#RRGGBB"):
        lab("teal")
    with pytest.raises(UsageError, match="vision"):
        lab("#000000", "martian")
