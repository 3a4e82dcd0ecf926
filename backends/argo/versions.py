"""Argo release profiles: what each supported controller release understands.

Where one form of output runs right on every release (list-wrapped loop items, the
empty-safe fan-in, `depends` that never waits on a skipped producer), the emitter writes
that form for all of them; a profile only holds the fields that truly differ. The matrix
and the reasons are in docs/backends/argo.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Supported release lines, oldest first; the default is the newest.
SUPPORTED = ("3.5", "3.6", "3.7", "4.0", "4.1")
NEWEST = SUPPORTED[-1]

_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.\d+)?")


@dataclass(frozen=True, slots=True)
class Profile:
    """One Argo release line."""

    #: "major.minor", one of SUPPORTED.
    release: str

    @property
    def key(self) -> tuple[int, int]:
        major, minor = self.release.split(".")
        return int(major), int(minor)

    @property
    def cron_schedules(self) -> bool:
        """CronWorkflowSpec.schedules (a list) instead of `schedule`.

        v3.5 knows only `schedule` and rejects a CronWorkflow without it; v3.6 added
        `schedules`; v4.0 removed `schedule`.
        """
        return self.key >= (3, 6)

    @property
    def backoff_cap(self) -> bool:
        """retryStrategy.backoff.cap exists (added in v3.7; older controllers drop it)."""
        return self.key >= (3, 7)


def profile(text: str | None) -> Profile | None:
    """The profile for "3.7", "v3.7.16", ...; the newest for None; None if unsupported."""
    if text is None or text == "":
        return Profile(NEWEST)
    m = _VERSION.fullmatch(str(text).strip())
    if m is None:
        return None
    release = f"{m.group(1)}.{m.group(2)}"
    return Profile(release) if release in SUPPORTED else None
