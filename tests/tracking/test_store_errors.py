"""A store's error in one line: the line that names the cause."""

import sqlite3

from sqlalchemy.exc import OperationalError

from training.tracking.store import first_line


def test_a_store_error_is_named_by_its_cause_not_by_sqlalchemys_note():
    """A disk that fills during a query's autoflush: SQLAlchemy writes its note first, the cause on the next line (seen
    under tests/faults' small disk, where the one-line error had read only the note)."""
    error = OperationalError("INSERT INTO metrics", {}, sqlite3.OperationalError("database or disk is full"))
    error.add_detail("raised as a result of Query-invoked autoflush; consider using a session.no_autoflush block if this flush is "
                     "occurring prematurely")
    assert first_line(error) == "OperationalError: (sqlite3.OperationalError) database or disk is full"
    assert first_line(ValueError("")) == "ValueError: " and first_line(ValueError("a\nb")) == "ValueError: a"
