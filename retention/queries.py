"""Small query helpers shared by the services."""
from __future__ import annotations

from sqlalchemy import Integer, String, any_, bindparam, cast, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY


def int_array(values):
    """An int[] parameter for PostgreSQL, sent as one text literal ('{1,2,NULL}') the server parses: psycopg
    adapting a Python list element by element costs several times more for the thousands of ids of a batch."""
    if not isinstance(values, (list, tuple, set, frozenset)):
        values = list(values)
    if None in values:
        text = ",".join("NULL" if v is None else str(int(v)) for v in values)
    else:  # the common case, at C speed: int() refuses anything that is not a whole number (no text reaches SQL)
        text = ",".join(map(str, map(int, values)))
    return cast(bindparam(None, "{" + text + "}", type_=String), ARRAY(Integer))


def id_in(session, column, ids):
    """`column IN ids`; on PostgreSQL `= ANY(one int[] parameter)`, which psycopg prepares once for any count."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(int_array(ids))
    return column.in_(list(ids))


def insert_rows(session, table, rows: list[dict]) -> None:
    """INSERT many rows (dicts with the same keys) into a Core table, in the caller's transaction.

    PostgreSQL: one statement for all of them, `INSERT ... SELECT unnest(array), ...` with one array parameter per
    column whose values differ (a value shared by every row is one plain parameter), so the server plans and runs
    one statement instead of one per row (bench/tick.py: the hand-out's work rows). Columns left out get their
    scalar Python default, as an executemany would give them. Elsewhere (SQLite), and when a left-out column has a
    default that is not a plain value, an executemany.
    """
    if not rows:
        return
    names = list(rows[0])
    missing = [c for c in table.c if c.name not in names and c.default is not None]
    if session.get_bind().dialect.name != "postgresql" or any(not c.default.is_scalar for c in missing):
        session.execute(insert(table), rows)
        return
    columns = [table.c[name] for name in names] + missing
    values = [[row[name] for row in rows] for name in names] + [[c.default.arg] * len(rows) for c in missing]
    shared = [len(rows) > 1 and all(v == vs[0] and type(v) is type(vs[0]) for v in vs) for vs in values]
    if all(shared):  # at least one unnest gives the row count
        shared[0] = False
    parts = []
    for column, vs, same in zip(columns, values, shared):
        if same or len(rows) == 1:
            parts.append(cast(bindparam(None, vs[0], type_=column.type), column.type))
        elif isinstance(column.type, Integer):
            parts.append(func.unnest(int_array(vs)))
        else:
            parts.append(func.unnest(cast(bindparam(None, vs, type_=ARRAY(column.type)), ARRAY(column.type))))
    session.execute(insert(table).from_select([c.name for c in columns], select(*parts)))
