"""Inserting many rows at once: COPY on PostgreSQL, an executemany INSERT elsewhere.

Event processing writes thousands of rows per batch (touchpoints, customers, sales, enrollments). On
PostgreSQL one COPY costs a fraction of the same rows sent as executemany INSERTs (one statement on the
server instead of one per row, and no per-row parameter handling in Python). Values go through each
column's own bind processing (aware UTC times, JSON), and the Python-side defaults of the columns the rows
leave out are filled in, as an INSERT would. Constraints and foreign keys are checked as for any INSERT.
"""
from __future__ import annotations

from sqlalchemy import Table, insert, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

CHUNK = 5000


def _python_default(column):
    """What an INSERT leaving `column` out would write from Python, or `_NONE` for none (server side)."""
    default = column.default
    if default is None or not (default.is_scalar or default.is_callable):
        return _NONE
    return default


_NONE = object()


def insert_rows(session: Session, table: Table, rows: list[dict]) -> int:
    """Insert `rows` (dicts keyed by column name, the same keys in every row) into `table`; returns how many."""
    if not rows:
        return 0
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        for start in range(0, len(rows), CHUNK):
            session.execute(insert(table), rows[start:start + CHUNK])
        return len(rows)
    given = list(rows[0])
    filled = []  # columns left out whose Python default an INSERT would write
    for column in table.columns:
        if column.key in rows[0] or (column.primary_key and column.autoincrement):
            continue
        default = _python_default(column)
        if default is not _NONE:
            filled.append((column.key, default))
    names = given + [key for key, _ in filled]
    dialect = conn.dialect
    processors = [table.c[name].type._cached_bind_processor(dialect) for name in names]
    raw = conn.connection.driver_connection
    sql = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
    with raw.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            values = [row[name] for name in given]
            for _, default in filled:
                values.append(default.arg if default.is_scalar else default.arg(None))
            copy.write_row([value if proc is None else proc(value) for proc, value in zip(processors, values)])
    return len(rows)


def insert_pending(session: Session, objects: list) -> int:
    """Insert pending ORM objects of one mapped class, their ids already assigned, with `insert_rows`, and make
    them persistent as a flush would (the session's unit of work then leaves them out). Returns how many.

    Meant for a `before_flush` hook, called parents first: each object's many-to-one foreign keys are taken from
    its related objects, which must be persistent already (or inserted by an earlier call). An object this cannot
    write exactly as the flush would (a related object still pending, a column only the server fills) is left to
    the unit of work. The values written for columns the object left out (their defaults) are set on it, so
    reading them costs no query.
    """
    from sqlalchemy import inspect
    from sqlalchemy.orm import RelationshipDirection

    register = getattr(session, "_register_persistent", None)  # what a flush calls for the rows it inserted
    if not objects or register is None:
        return 0
    mapper = inspect(objects[0]).mapper
    table = mapper.local_table
    if mapper.inherits is not None or mapper.version_id_col is not None or not isinstance(table, Table):
        return 0
    many_to_one = [rel for rel in mapper.relationships if rel.direction is RelationshipDirection.MANYTOONE]
    columns = [(column, mapper.get_property_by_column(column).key) for column in table.columns]
    states, rows = [], []
    for obj in objects:
        state = inspect(obj)
        if state.key is not None or state.session_id != session.hash_key:  # not pending in this session
            continue
        values = state.dict
        usable = True
        for rel in many_to_one:
            related = values.get(rel.key)
            if related is None:
                continue
            related_state = inspect(related)
            if related_state.key is None:  # pending: the flush inserts it, and this row after it
                usable = False
                break
            for local, remote in rel.local_remote_pairs:
                values[mapper.get_property_by_column(local).key] = getattr(
                    related, related_state.mapper.get_property_by_column(remote).key)
        row = {}
        for column, key in columns:
            if key in values:
                row[column.name] = values[key]
                continue
            default = _python_default(column)
            if default is _NONE:
                if column.server_default is not None or column.primary_key:
                    usable = False
                    break
                row[column.name] = None
            else:
                row[column.name] = default.arg if default.is_scalar else default.arg(None)
        if not usable:
            continue
        states.append(state)
        rows.append(row)
    if not rows:
        return 0
    insert_rows(session, table, rows)
    for state, row in zip(states, rows, strict=True):
        for column, key in columns:
            if key not in state.dict:
                state.dict[key] = row[column.name]
    register(set(states))
    return len(states)


def insert_new(session: Session, objects: list) -> None:
    """Insert new ORM objects of one mapped class now, with their ids, in the caller's transaction.

    On PostgreSQL the ids come from the table's sequence (one query) and the rows go by one COPY (`insert_pending`),
    instead of an INSERT ... RETURNING of thousands of parameters that psycopg parses each time; elsewhere (and for
    what insert_pending cannot write) the flush inserts them. A unique key already taken raises IntegrityError, as
    the flush would (the caller's savepoint is then rolled back).
    """
    session = session.registry() if hasattr(session, "registry") else session  # a scoped session: its Session
    session.add_all(objects)
    if len(objects) >= 2 and session.get_bind().dialect.name == "postgresql":
        from sqlalchemy import inspect

        table = inspect(objects[0]).mapper.local_table
        conn = session.connection()
        ids = conn.execute(text(f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) "  # a mapped name
                                "FROM generate_series(1, :n)"), {"n": len(objects)}).scalars().all()
        for obj, new_id in zip(objects, ids, strict=True):
            obj.id = new_id
        try:
            insert_pending(session, objects)
        except conn.dialect.loaded_dbapi.IntegrityError as exc:
            raise IntegrityError(f"COPY {table.name}", None, exc) from exc
    session.flush()
