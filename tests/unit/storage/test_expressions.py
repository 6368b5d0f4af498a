"""`among`: IN for a batch's values, one array parameter on PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, select

from mailbot.storage.db import open_database
from mailbot.storage.expressions import among
from mailbot.storage.models import Blob


def test_among_finds_the_rows_of_any_number_of_values_with_one_statement(
    tmp_path: Path,
) -> None:
    db = open_database(f"sqlite:///{tmp_path}/mb.sqlite3")
    try:
        with db.session() as s:
            s.add_all(Blob(sha256=f"k{n:03d}", data=b"x" * n, size=n) for n in range(150))
        statements: list[str] = []

        def record(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
            if "FROM blobs" in statement:
                statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", record)
        query = select(Blob.sha256)
        with db.session() as s:
            for keys in (["k001", "k003", "nope"], ["k002"], [], [f"k{n:03d}" for n in range(120)]):
                found = set(s.scalars(query.where(among(Blob.sha256, keys))))
                assert found == {k for k in keys if k != "nope"}
            sizes = set(s.scalars(select(Blob.size).where(among(Blob.size, [1, 7, 149, 500]))))
            assert sizes == {1, 7, 149}
        event.remove(db.engine, "before_cursor_execute", record)
        if db.engine.dialect.name == "postgresql":
            # The same text for 3, 1, 0 and 120 keys: converted once, prepared by the server.
            assert len(set(statements[:4])) == 1 and "= ANY(" in statements[0], statements
        else:  # a comparison an index serves, not a boolean value compared with 1
            assert "IN (" in statements[0] and ") = 1" not in statements[0], statements[0]
    finally:
        db.dispose()
