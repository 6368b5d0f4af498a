"""Full-text search over items: SQLite FTS5, PostgreSQL tsvector, Chinese included.

Neither engine splits Chinese into words, and a word list would be one more thing to
maintain. So every document and every query is written as tokens first: Latin words and
numbers as they are (lower case), each CJK character on its own. A Chinese query is then a
phrase of characters in a row ("登录" finds "后台登录不了"); a Latin word matches as a
prefix ("check" finds "checkout"). Both engines index the same tokens.

The index (table `item_search`, made by migration 0010) holds one document per item: its
reference, title, client and the subject and new text of its messages. `reindex_items`
rewrites the documents of the items it is given, in the caller's transaction; the PM's
actions call it for the items they change. Filing only adds: `index_filed` writes the
documents of a batch's new items and appends a follow-up's words to its item's document,
without reading the item's earlier mails again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Boolean, bindparam, select, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement

from mailbot.storage.expressions import among
from mailbot.storage.models import Item, StoredMessage

TABLE = "item_search"
MAX_DOC_CHARS = 200_000  # per item: a thread of long mails is still searched, not stored twice
MAX_QUERY_TOKENS = 32
# One CJK character (ideographs, kana, hangul), or one run of letters and digits.
_TOKEN = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]|[^\W_]+", re.UNICODE
)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
# The same words where the text is ASCII: no CJK, and a letter or digit is [a-z0-9] once
# lower-cased (the general pattern tries the CJK ranges at every character first).
_ASCII_TOKEN = re.compile(r"[a-z0-9]+")


def tokens(value: str) -> list[str]:
    """The words of `value` as both engines index them: lower case, CJK one by one."""
    if value.isascii():
        return _ASCII_TOKEN.findall(value.lower())
    return _TOKEN.findall(value.casefold())


def document(parts: Iterable[str | None]) -> str:
    """The indexed text of one item."""
    found: list[str] = []
    size = 0
    for part in parts:
        if not part:
            continue
        words = tokens(part[:MAX_DOC_CHARS])
        found.extend(words)
        size += len(words) + sum(map(len, words))  # the words and a space after each
        if size > MAX_DOC_CHARS:
            break
    return " ".join(found)[:MAX_DOC_CHARS]


def _groups(query: str) -> list[tuple[str, list[str]]]:
    """("phrase", characters) for each run of CJK characters, ("word", [w]) for the rest."""
    groups: list[tuple[str, list[str]]] = []
    for token in tokens(query)[:MAX_QUERY_TOKENS]:
        if _CJK.fullmatch(token):
            if groups and groups[-1][0] == "phrase" and not _gap(query, groups[-1][1], token):
                groups[-1][1].append(token)
            else:
                groups.append(("phrase", [token]))
        else:
            groups.append(("word", [token]))
    return groups


def _gap(query: str, run: list[str], token: str) -> bool:
    """Was there something other than the run's characters between it and `token`?"""
    return ("".join(run) + token) not in query.casefold()


def fts5_query(query: str) -> str | None:
    """The FTS5 MATCH expression for a search box's text; None if it has no words."""
    parts = []
    for kind, words in _groups(query):
        if kind == "phrase":
            parts.append('"' + " ".join(words) + '"')
        else:
            parts.append('"' + words[0] + '"*')
    return " AND ".join(parts) or None


def tsquery(query: str) -> str | None:
    """The PostgreSQL to_tsquery('simple', …) text for the same search; None if no words."""
    parts = []
    for kind, words in _groups(query):
        if kind == "phrase":
            parts.append("(" + " <-> ".join(f"'{w}'" for w in words) + ")")
        else:
            parts.append(f"'{words[0]}':*")
    return " & ".join(parts) or None


class SearchMatch(ColumnElement[bool]):
    """`Item.id` is in the full-text matches of a query (compiled per database)."""

    type = Boolean()
    inherit_cache = False

    def __init__(self, query: str) -> None:
        self.query = query


@compiles(SearchMatch, "sqlite")
def _sqlite_match(element: SearchMatch, compiler: SQLCompiler, **kw: Any) -> str:
    value = compiler.process(bindparam("fts_query", fts5_query(element.query)), **kw)
    return f"items.id IN (SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH {value})"


@compiles(SearchMatch, "postgresql")
def _postgresql_match(element: SearchMatch, compiler: SQLCompiler, **kw: Any) -> str:
    value = compiler.process(bindparam("ts_query", tsquery(element.query)), **kw)
    return f"items.id IN (SELECT item_id FROM {TABLE} WHERE tsv @@ to_tsquery('simple', {value}))"


def has_words(query: str) -> bool:
    return bool(tokens(query))


def reindex_items(session: Session, item_ids: Iterable[int | None]) -> int:
    """Rewrite the search documents of these items (gone ones are dropped); how many."""
    ids = sorted({i for i in item_ids if i is not None})
    if not ids:
        return 0
    session.flush()
    dialect = session.get_bind().dialect.name
    # Named columns only: the migration that builds the index runs this on the schema of
    # its own day, before any later column exists.
    found = session.execute(
        select(Item.id, Item.ref, Item.title, Item.client_name, Item.client_email).where(
            among(Item.id, ids)
        )
    )
    texts: dict[int, list[str | None]] = {row[0]: list(row[1:]) for row in found}
    rows = session.execute(
        select(StoredMessage.item_id, StoredMessage.subject, StoredMessage.new_text)
        .where(among(StoredMessage.item_id, ids))
        .order_by(StoredMessage.id)
    )
    for item_id, subject, new_text in rows:
        if item_id in texts:
            texts[item_id] += [subject, new_text]
    for item_id in ids:
        if dialect == "postgresql":
            if item_id in texts:
                session.execute(
                    text(
                        f"INSERT INTO {TABLE} (item_id, tsv) "
                        "VALUES (:id, to_tsvector('simple', :doc)) "
                        "ON CONFLICT (item_id) DO UPDATE SET tsv = excluded.tsv"
                    ),
                    {"id": item_id, "doc": document(texts[item_id])},
                )
            else:
                session.execute(text(f"DELETE FROM {TABLE} WHERE item_id = :id"), {"id": item_id})
        else:
            session.execute(text(f"DELETE FROM {TABLE} WHERE rowid = :id"), {"id": item_id})
            if item_id in texts:
                session.execute(
                    text(f"INSERT INTO {TABLE} (rowid, doc) VALUES (:id, :doc)"),
                    {"id": item_id, "doc": document(texts[item_id])},
                )
    return len(ids)


def index_filed(
    session: Session, filed: Iterable[tuple[Item, bool, str | None, str | None]]
) -> None:
    """Index filed messages: (item, new item?, subject, new text) each.

    A new item's document is written whole from what is at hand (it has this one mail);
    a follow-up's words are appended to its item's document (an item not indexed yet is
    indexed whole), in the caller's transaction. Nothing is read back.
    """
    fresh: dict[int, list[str | None]] = {}
    added: dict[int, list[str | None]] = {}
    for item, new_item, subject, new_text in filed:
        if new_item:
            fresh[item.id] = [item.ref, item.title, item.client_name, item.client_email]
            fresh[item.id] += [subject, new_text]
        else:
            added.setdefault(item.id, []).extend([subject, new_text])
    session.flush()
    postgresql = session.get_bind().dialect.name == "postgresql"
    if fresh:
        _write_documents(session, {i: document(parts) for i, parts in fresh.items()}, postgresql)
    later = added  # a follow-up of an item new in the same call: appended to its document
    if not later:
        return
    if postgresql:
        append = text(
            f"UPDATE {TABLE} SET tsv = tsv || to_tsvector('simple', :doc) WHERE item_id = :id"
        )
    else:  # (FTS5 tables have no UPDATE … RETURNING: the row count says it)
        append = text(
            f"UPDATE {TABLE} SET doc = substr(doc || ' ' || :doc, 1, {MAX_DOC_CHARS}) "
            "WHERE rowid = :id"
        )
    missing = [
        item_id
        for item_id, parts in later.items()
        if session.execute(append, {"id": item_id, "doc": document(parts)}).rowcount == 0  # type: ignore[attr-defined]
    ]
    if missing:
        reindex_items(session, missing)


def _write_documents(session: Session, docs: dict[int, str], postgresql: bool) -> None:
    """Replace the documents of these items (each statement for all of them at once)."""
    params = [{"id": item_id, "doc": doc} for item_id, doc in docs.items()]
    if postgresql:
        session.execute(
            text(
                f"INSERT INTO {TABLE} (item_id, tsv) VALUES (:id, to_tsvector('simple', :doc)) "
                "ON CONFLICT (item_id) DO UPDATE SET tsv = excluded.tsv"
            ),
            params,
        )
    else:
        session.execute(text(f"DELETE FROM {TABLE} WHERE rowid = :id"), params)
        session.execute(text(f"INSERT INTO {TABLE} (rowid, doc) VALUES (:id, :doc)"), params)


def create_index(session_or_conn: Any, dialect: str) -> None:
    """The index table for `dialect` (used by the migration)."""
    if dialect == "postgresql":
        session_or_conn.execute(
            text(
                f"CREATE TABLE {TABLE} (item_id INTEGER PRIMARY KEY "
                "REFERENCES items(id) ON DELETE CASCADE, tsv tsvector NOT NULL)"
            )
        )
        session_or_conn.execute(text(f"CREATE INDEX ix_{TABLE}_tsv ON {TABLE} USING gin (tsv)"))
    else:
        session_or_conn.execute(text(f"CREATE VIRTUAL TABLE {TABLE} USING fts5(doc)"))


def is_search_table(name: str | None) -> bool:
    """The index and, on SQLite, FTS5's own tables: not part of the models."""
    return bool(name) and (name == TABLE or str(name).startswith(TABLE + "_"))
