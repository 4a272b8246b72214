"""A PyMySQL connection whose cursors, of whatever class, report their statements."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pymysql


class ObservedConnection(pymysql.connections.Connection):  # type: ignore[misc]
    """PyMySQL's connection; once ``observing`` is set, ``cursor()`` gives observed cursors.

    It is unset while the connection is set up (``SET NAMES``, the
    ``init_command``, the dialect's first queries): those are not the unit's.
    """

    observing: Callable[[type], type] | None = None

    def cursor(self, cursor: type | None = None) -> Any:
        if self.observing is None:
            return super().cursor(cursor)
        return super().cursor(self.observing(cursor or self.cursorclass))
