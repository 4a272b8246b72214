"""Which statements ran on the driver's cursor directly (``alchemy_patterns.db.direct``)."""

from __future__ import annotations

from typing import Any

import pytest

from alchemy_patterns.db import direct


def directly_run(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, bool]]:
    """Each statement ``execute_on`` is given from now on, and whether it ran directly."""
    seen: list[tuple[Any, bool]] = []
    run = direct.execute_directly

    def spied(connection: Any, statement: Any, parameters: Any) -> Any:
        try:
            result = run(connection, statement, parameters)
        except BaseException:
            seen.append((statement, True))  # the driver raised: it was sent
            raise
        seen.append((statement, result is not None))
        return result

    monkeypatch.setattr(direct, "execute_directly", spied)
    return seen
