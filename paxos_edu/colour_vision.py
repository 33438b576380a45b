"""How the pictures' colours look to readers with a colour-vision deficiency.

The message-kind palette of :mod:`paxos_edu.viz_style` must keep every two kinds apart for
everybody, not only for normal trichromats. This module simulates the three dichromacies
with the matrices of Machado, Oliveira and Fernandes (2009, severity 1.0), applied in
linear sRGB, and measures how far two simulated colours are apart as the CIE 1976 colour
difference ΔE*ab in CIELAB (D65). A ΔE below about 10 reads as "the same colour" in a thin
line; the palette test asks for more.

Reference: G. M. Machado, M. M. Oliveira, L. A. F. Fernandes, *A Physiologically-based
Model for Simulation of Color Vision Deficiency*, IEEE TVCG 15(6), 2009.
"""

from __future__ import annotations

from itertools import combinations
from typing import Mapping

import numpy as np

from .errors import UsageError

VISIONS: dict[str, np.ndarray] = {
    "normal": np.eye(3),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779],
                            [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}  # fmt: skip
"""Machado 2009 simulation matrices (severity 1.0), linear sRGB -> linear sRGB."""

_SRGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                         [0.0193, 0.1192, 0.9505]])  # fmt: skip
_WHITE_D65 = np.array([0.95047, 1.0, 1.08883])


def _linear_rgb(colour: str) -> np.ndarray:
    text = colour.lstrip("#")
    if len(text) != 6:
        raise UsageError(f"colour {colour!r}: expected '#RRGGBB'")
    try:
        srgb = np.array([int(text[i:i + 2], 16) / 255 for i in (0, 2, 4)])
    except ValueError:
        raise UsageError(f"colour {colour!r}: expected '#RRGGBB'") from None
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def lab(colour: str, vision: str = "normal") -> np.ndarray:
    """CIELAB (L*, a*, b*) of ``colour`` ('#RRGGBB') as seen with ``vision``."""
    if vision not in VISIONS:
        raise UsageError(f"vision {vision!r}: use one of {sorted(VISIONS)}")
    rgb = np.clip(VISIONS[vision] @ _linear_rgb(colour), 0.0, 1.0)
    xyz = (_SRGB_TO_XYZ @ rgb) / _WHITE_D65
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def delta_e(a: str, b: str, vision: str = "normal") -> float:
    """CIE76 colour difference ΔE*ab of two colours as seen with ``vision``."""
    return float(np.linalg.norm(lab(a, vision) - lab(b, vision)))


def closest_pairs(palette: Mapping[str, str], vision: str) -> list[tuple[float, str, str]]:
    """Every pair of named colours of ``palette`` as ``(ΔE, name, name)``, closest first."""
    return sorted((delta_e(palette[x], palette[y], vision), x, y)
                  for x, y in combinations(palette, 2))


__all__ = ["VISIONS", "closest_pairs", "delta_e", "lab"]
