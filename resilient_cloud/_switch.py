"""The process-wide off switch, for debugging: plain botocore, untouched."""

from __future__ import annotations

import os

ENV_VAR = "RESILIENT_CLOUD_DISABLED"
_OFF_VALUES = frozenset({"", "0", "false", "no", "off"})


def is_disabled() -> bool:
    """True when ``RESILIENT_CLOUD_DISABLED`` is set to anything but 0/false/no/off.

    Read when a client is created or wrapped: such clients are left exactly
    as botocore built them, with botocore's own retries.
    """
    return os.environ.get(ENV_VAR, "").strip().lower() not in _OFF_VALUES
