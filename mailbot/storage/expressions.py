"""`among(column, values)`: `column IN (values)`, sent to PostgreSQL as one array.

An IN list is one parameter per value, so a statement's text changes with the number of
values and grows with it: psycopg converts statements of more than 50 parameters again at
every execution and PostgreSQL parses and plans each anew. `column = ANY(:array)` is one
statement for any number of values, converted once and prepared by the server after a few
executions. SQLite keeps the IN list (it has no arrays).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from sqlalchemy import ARRAY, Boolean, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal


class Among(ColumnElement[bool]):
    """`column IN values`: the values as a list of parameters, or as one array."""

    type = Boolean()
    # A comparison, not a boolean value: SQLite would otherwise get `… IN (…) = 1`, which
    # no index serves.
    _is_implicitly_boolean = True
    inherit_cache = False
    # Both parameters are part of the statement (each dialect renders one of them), so a
    # cached statement takes the values of the next call from either.
    _traverse_internals: ClassVar[list[tuple[str, InternalTraversal]]] = [
        ("column", InternalTraversal.dp_clauseelement),
        ("listed", InternalTraversal.dp_clauseelement),
        ("array", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[Any], values: Iterable[Any]) -> None:
        self.column = column
        values = list(values)
        self.listed: BindParameter[Any] = bindparam(None, values, expanding=True, type_=column.type)
        self.array: BindParameter[Any] = bindparam(None, values, type_=ARRAY(column.type))


@compiles(Among)
def _listed(element: Among, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column.in_(element.listed), **kw)


@compiles(Among, "postgresql")
def _array(element: Among, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"{column} = ANY({compiler.process(element.array, **kw)})"


def among(column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """`column IN (values)` for a batch's ids or keys; one array parameter on PostgreSQL."""
    return Among(column, values)
