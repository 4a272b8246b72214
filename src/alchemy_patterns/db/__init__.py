"""``alchemy_patterns.db``: a typed, reusable data layer for SQLAlchemy 2.x applications.

It imports SQLAlchemy and the standard library only, never the application
built on it. Everything an application needs is importable from here.
"""

from typing import TYPE_CHECKING, Any

from alchemy_patterns.db.base import (
    NAMING_CONVENTION,
    Base,
    Money,
    TimestampMixin,
    UTCDateTime,
    Versioned,
    as_money,
    scale_money,
    table_of,
    text_enum,
    utcnow,
)
from alchemy_patterns.db.bulk import (
    bulk_insert,
    bulk_update,
    copy_insert,
    rowcount,
    update_where,
    upsert,
    upsert_statement,
)
from alchemy_patterns.db.cursors import observe_statements
from alchemy_patterns.db.database import Database
from alchemy_patterns.db.direct import DirectResult, execute_on, is_prepared, prepared
from alchemy_patterns.db.disconnects import (
    found_dead_at_first_statement,
    retrying_a_stale_connection,
)
from alchemy_patterns.db.engine import (
    Backend,
    EngineOptions,
    async_url,
    backend_of,
    make_async_engine,
    make_engine,
)
from alchemy_patterns.db.errors import (
    AppError,
    Conflict,
    InvalidReference,
    NotFound,
    StaleVersion,
    Unavailable,
    ValidationFailed,
    is_retryable,
    translate_error,
    translating_errors,
)
from alchemy_patterns.db.history import (
    ACTOR_KEY,
    Historied,
    HistoryBypassed,
    as_of,
    copy_to_history,
    forget_history,
    history_page,
    history_table,
    is_historied,
    revert,
    version_row,
)
from alchemy_patterns.db.pagination import (
    Counting,
    KeysetPage,
    Page,
    PageArgs,
    count,
    exists,
    get_or_raise,
    keyset_after,
    keyset_paginate,
    keyset_position,
    paginate,
    stream,
)
from alchemy_patterns.db.profiling import (
    NPlusOneError,
    NPlusOneWarning,
    QueryCounter,
    assert_max_queries,
    count_queries,
    detect_n_plus_one,
)
from alchemy_patterns.db.retry import RetryPolicy, run_transaction
from alchemy_patterns.db.session import execute_core, savepoint, session_scope
from alchemy_patterns.db.softdelete import (
    INCLUDE_DELETED,
    SoftDeletable,
    emitted_on,
    hide_deleted,
    live,
    live_flag,
    purge_batch,
    restore,
    soft_deletable_tables,
    soft_delete,
    unique_while_live,
)
from alchemy_patterns.db.versioning import Expected, check_version, version_column, version_of

if TYPE_CHECKING:
    from alchemy_patterns.db.asyncio import AsyncDatabase


def __getattr__(name: str) -> Any:
    # The async twin needs the async extra (greenlet): imported on first use, so
    # the sync data layer imports with SQLAlchemy alone.
    if name != "AsyncDatabase":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        from alchemy_patterns.db.asyncio import AsyncDatabase
    except ImportError as error:
        message = (
            f"AsyncDatabase needs the async extra: pip install 'alchemy-patterns[async]' ({error})"
        )
        raise ImportError(message) from error
    return AsyncDatabase


__all__ = [
    "ACTOR_KEY",
    "INCLUDE_DELETED",
    "NAMING_CONVENTION",
    "AppError",
    "AsyncDatabase",
    "Backend",
    "Base",
    "Conflict",
    "Counting",
    "Database",
    "DirectResult",
    "EngineOptions",
    "Expected",
    "Historied",
    "HistoryBypassed",
    "InvalidReference",
    "KeysetPage",
    "Money",
    "NPlusOneError",
    "NPlusOneWarning",
    "NotFound",
    "Page",
    "PageArgs",
    "QueryCounter",
    "RetryPolicy",
    "SoftDeletable",
    "StaleVersion",
    "TimestampMixin",
    "UTCDateTime",
    "Unavailable",
    "ValidationFailed",
    "Versioned",
    "as_money",
    "as_of",
    "assert_max_queries",
    "async_url",
    "backend_of",
    "bulk_insert",
    "bulk_update",
    "check_version",
    "copy_insert",
    "copy_to_history",
    "count",
    "count_queries",
    "detect_n_plus_one",
    "emitted_on",
    "execute_core",
    "execute_on",
    "exists",
    "forget_history",
    "found_dead_at_first_statement",
    "get_or_raise",
    "hide_deleted",
    "history_page",
    "history_table",
    "is_historied",
    "is_prepared",
    "is_retryable",
    "keyset_after",
    "keyset_paginate",
    "keyset_position",
    "live",
    "live_flag",
    "make_async_engine",
    "make_engine",
    "observe_statements",
    "paginate",
    "prepared",
    "purge_batch",
    "restore",
    "retrying_a_stale_connection",
    "revert",
    "rowcount",
    "run_transaction",
    "savepoint",
    "scale_money",
    "session_scope",
    "soft_deletable_tables",
    "soft_delete",
    "stream",
    "table_of",
    "text_enum",
    "translate_error",
    "translating_errors",
    "unique_while_live",
    "update_where",
    "upsert",
    "upsert_statement",
    "utcnow",
    "version_column",
    "version_of",
    "version_row",
]
