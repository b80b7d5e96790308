"""Field layouts of every PDU, per dialect: the single source of truth for the codec."""

from __future__ import annotations

import enum


class Dialect(enum.IntEnum):
    EMPP = 1
    CMPP2 = 2
    CMPP3 = 3
