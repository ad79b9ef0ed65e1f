"""Small query helpers shared by the services."""
from __future__ import annotations

from sqlalchemy import Integer, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY


def id_in(session, column, ids):
    """`column IN ids`; on PostgreSQL `= ANY(one array parameter)`, which psycopg prepares once for any count."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(Integer)))
    return column.in_(list(ids))
