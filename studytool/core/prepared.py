"""SQLAlchemy statements compiled once and run straight on the DBAPI connection.

The study queue runs about seven small statements per card. Through SQLAlchemy's execution
layer each costs ~0.15 ms of Python (events, result proxies, cache lookups), ten times the
database work; for the target of a pick + commit within 3× Anki's time that overhead is the
whole budget. These statements are still written with SQLAlchemy and compiled for the
engine's dialect (so SQLite and PostgreSQL both work); values go through each column's own
type conversion (UTC datetimes, JSON) in both directions, exactly as SQLAlchemy would.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Engine
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from studytool.core.locking import apply_lock_wait


class Prepared:
    """One statement compiled for one dialect, with its parameter and result converters."""

    def __init__(self, statement: ClauseElement, engine: Engine) -> None:
        dialect = engine.dialect
        # ``compile()`` is typed as returning the base ``Compiled``; a DML/SELECT statement
        # always compiles to an ``SQLCompiler``, which carries the bind parameters used here.
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        self.sql = compiled.string
        # Values fixed in the statement itself (e.g. ``buried_until=None`` in an UPDATE).
        self._defaults = {
            name: bind.value
            for name, bind in compiled.binds.items()
            if not bind.required and bind.callable is None
        }
        # A positional compile always fills in ``positiontup`` (typed Optional for the rest).
        self._order = list(compiled.positiontup or ()) if compiled.positional else None
        self._bind = {
            name: bind.type.dialect_impl(dialect).bind_processor(dialect)
            for name, bind in compiled.binds.items()
        }
        columns = getattr(statement, "selected_columns", None)
        if columns is None:
            returning = getattr(statement, "_returning", ())
            columns = list(returning)
        self.names = [column.key for column in columns]
        self._dialect = dialect
        self._types = [column.type.dialect_impl(dialect) for column in columns]
        # Built from the first result's cursor description: some drivers' converters depend
        # on the column's type code there (PostgreSQL's numeric OIDs; SQLite has none).
        self._result: list[Any] | None = None

    def _result_processors(self, description: Any) -> list[Any]:
        if self._result is None:
            codes = [column[1] for column in description] if description else []
            codes += [None] * (len(self._types) - len(codes))
            self._result = [
                kind.result_processor(self._dialect, code)
                for kind, code in zip(self._types, codes, strict=False)
            ]
        return self._result

    def parameters(self, values: Mapping[str, Any]) -> Any:
        merged = {**self._defaults, **values}
        converted = {}
        for name, value in merged.items():
            process = self._bind.get(name)
            converted[name] = process(value) if process is not None and value is not None else value
        if self._order is None:
            return converted
        return tuple(converted[name] for name in self._order)

    def convert(self, raw: tuple[Any, ...], description: Any) -> dict[str, Any]:
        processors = self._result_processors(description)
        return {
            name: (process(value) if process is not None else value)
            for name, process, value in zip(self.names, processors, raw, strict=True)
        }


class Cursor:
    """A DBAPI cursor that runs Prepared statements and hands back rows as dicts."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, statement: Prepared, **values: Any) -> Cursor:
        self._cursor.execute(statement.sql, statement.parameters(values))
        self._statement = statement
        return self

    def all(self) -> list[dict[str, Any]]:
        description = self._cursor.description
        return [self._statement.convert(row, description) for row in self._cursor.fetchall()]

    def first(self) -> dict[str, Any] | None:
        row = self._cursor.fetchone()
        return None if row is None else self._statement.convert(row, self._cursor.description)

    def scalar(self) -> Any:
        row = self.first()
        return None if row is None else next(iter(row.values()))

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)


@contextmanager
def raw_transaction(engine: Engine, *, write: bool) -> Iterator[Cursor]:
    """A transaction on a pooled DBAPI connection: committed on success, rolled back on error.

    SQLite writers take the write lock up front (BEGIN IMMEDIATE) so two processes queue on
    the busy timeout instead of failing on a lock upgrade.
    """
    connection = engine.raw_connection()
    sqlite = engine.dialect.name == "sqlite"
    try:
        cursor = connection.cursor()
        if sqlite:
            apply_lock_wait(connection.dbapi_connection, connection.info)
            cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield Cursor(cursor)
        except BaseException:
            if sqlite:
                cursor.execute("ROLLBACK")
            else:
                connection.rollback()
            raise
        if sqlite:
            cursor.execute("COMMIT")
        else:
            connection.commit()
        cursor.close()
    finally:
        connection.close()
