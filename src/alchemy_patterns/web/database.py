"""Session per request: the guide's pattern 2, with the request owning the transaction.

Views and the services they call share the data layer's scoped session (one
per thread, so one per request under a threaded server). The request commits
once, after the view returns (:meth:`alchemy_patterns.web.app.Api.dispatch_request`);
on any error nothing is committed, and ``teardown_appcontext`` removes the
session, which rolls back what is left and returns the connection to the pool,
failed request or not.
"""

from __future__ import annotations

from typing import cast

from flask import Flask, current_app
from sqlalchemy.orm import Session

from alchemy_patterns.db import Database

EXTENSION = "alchemy_patterns.database"


def init_app(app: Flask, db: Database) -> None:
    app.extensions[EXTENSION] = db
    app.teardown_appcontext(_remove_session)


def database() -> Database:
    return cast(Database, current_app.extensions[EXTENSION])


def db_session() -> Session:
    """This request's session."""
    return database().scoped_session()


def commit_request() -> None:
    """Commit the request's unit of work, if it opened one."""
    sessions = database().scoped_session
    if sessions.registry.has():
        sessions().commit()


def _remove_session(_error: BaseException | None) -> None:
    database().remove()
