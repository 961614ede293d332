"""Keyword search shared by the features (board listings now; notices and the consult
knowledge base can use the same calls).

Chinese has no spaces between words, so a text is cut into tokens: every Chinese (or
other non-ASCII) character and every pair of neighbouring characters (bigrams), plus
ASCII words and numbers in lower case, after NFKC (full-width ``ＡＢＣ１２`` is ``abc12``).
A query matches a document when the document holds every token of the query: a query
of two or more Chinese characters is cut into its bigrams, a single character stays a
unigram. Bigrams may match characters that are not adjacent in the document ("天桥社"
finds a text with "天桥" and "桥社" apart) — the usual trade of bigram indexes.

One API, one table, two engines, chosen by the database in use: one row per document in
``search_documents`` (unique on kind and id) holding its tokens.

- PostgreSQL: ``tokens`` is a ``text[]`` with a GIN index; a match is
  ``tokens @> ARRAY[...]``.
- SQLite: ``tokens`` is the space-joined tokens, and the FTS5 table ``search_fts``
  (external content: it indexes ``search_documents.tokens``, kept in step by triggers;
  tokenizer ``ascii``: spaces split, and a token — ASCII letters and digits, or only
  non-ASCII characters — is exactly one FTS term; ``detail=none``: no positions, as no
  query needs them) is the inverted index; a match is ``search_fts MATCH '"t1" "t2"'``
  — every token, intersected inside FTS5 — within the kind's rowid range: on SQLite a
  document's ``id`` is its kind's key plus its own id (``_kind_key``), so the hits are
  the ids without reading any row.
  The FTS table and its shadow tables are not models: ``SQLITE_FTS_DDL`` creates them
  after ``search_documents`` (``create_all`` and the migration), and ``include_name``
  keeps them out of the schema comparison.

Facets: a document may also carry facet values (``{"community": 4}``), stored as tokens
``community·4`` — a middle dot is never inside a text token, so no text can match one —
and a query may require them. A filter that narrows the results (a community) then
narrows the index lookup itself instead of every matching document being checked
against it: with 5% of 100,000 listings holding a keyword and a tenth of them in one
community, the index hands over ~500 documents, not ~5,000.

Usage, in a service that owns the documents::

    search.index("listing", listing.id, text, {"community": listing.community_id})
    search.remove("listing", listing.id)
    stmt = select(Listing).where(Listing.id.in_(search.match("listing", q)))
    found = search.matches("listing", q, facets={"community": 4})  # once per request:
    counted = found.restrict(select(Listing.id).where(...), Listing.id).limit(1001)
    page = select(Listing.id).where(found.where(Listing.id, walk=True), ...).order_by(...)
    # or the count from the look-up itself (found.found, at most few + 1):
    mine = select(Listing.id).where(...)
    found = search.matches("listing", q, few=1000, within=(mine, Listing.id))

``index`` and ``remove`` flush nothing themselves: they run in the caller's transaction.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    DDL,
    Index,
    Integer,
    Select,
    String,
    Text,
    UniqueConstraint,
    any_,
    bindparam,
    cast,
    column,
    delete,
    event,
    false,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, db

MAX_TOKEN = 64
MAX_QUERY_TOKENS = 16
_RUN = re.compile(r"[a-z0-9]+|[^\W_a-z0-9]+")
FACET_SEP = "\u00b7"  # "·": not a letter or digit, so never inside a text token
_FACET_PART = re.compile(r"[a-z0-9]+")
Facets = Mapping[str, object]


class SearchDocument(Base):
    """The tokens of one document: GIN-indexed on PostgreSQL, FTS5-indexed on SQLite."""

    __tablename__ = "search_documents"
    __table_args__ = (
        UniqueConstraint("kind", "ref_id"),
        # fastupdate off: a write updates the index at once instead of a pending list
        # that every query scans until the next vacuum (writes are rare, reads are not).
        Index(
            "ix_search_documents_tokens",
            "tokens",
            postgresql_using="gin",
            postgresql_with={"fastupdate": "off"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    ref_id: Mapped[int] = mapped_column(Integer)
    # A list on PostgreSQL; on SQLite the tokens joined by spaces (see ``_stored``).
    tokens: Mapped[list[str] | str | None] = mapped_column(
        Text().with_variant(postgresql.ARRAY(Text), "postgresql")
    )


# SQLite: the FTS5 index over ``search_documents.tokens`` and the triggers that keep it
# in step (the external-content pattern of the FTS5 documentation).
FTS_TABLE = "search_fts"
SQLITE_FTS_DDL = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(tokens,"
    " content='search_documents', content_rowid='id',"
    " tokenize='ascii', detail='none')",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ai AFTER INSERT ON search_documents BEGIN"
    f" INSERT INTO {FTS_TABLE}(rowid, tokens) VALUES (new.id, new.tokens); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ad AFTER DELETE ON search_documents BEGIN"
    f" INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, tokens)"
    " VALUES ('delete', old.id, old.tokens); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_au AFTER UPDATE ON search_documents BEGIN"
    f" INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, tokens)"
    " VALUES ('delete', old.id, old.tokens);"
    f" INSERT INTO {FTS_TABLE}(rowid, tokens) VALUES (new.id, new.tokens); END",
)
for _ddl in SQLITE_FTS_DDL:
    event.listen(SearchDocument.__table__, "after_create", DDL(_ddl).execute_if(dialect="sqlite"))
event.listen(
    SearchDocument.__table__,
    "before_drop",
    DDL(f"DROP TABLE IF EXISTS {FTS_TABLE}").execute_if(dialect="sqlite"),
)
_fts = table(FTS_TABLE, column("rowid", Integer))


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """For Alembic (``include_name``): leave out the FTS table and its shadow tables,
    which no model describes."""
    return not (type_ == "table" and name is not None and name.startswith(FTS_TABLE))


_kind_keys: dict[int, str] = {}


def _kind_key(kind: str) -> int:
    """SQLite: the first ``search_documents.id`` (and FTS rowid) of ``kind``. A document's
    id is this plus its own id, so an FTS hit is the document's id without reading the
    row, and a kind is one rowid range (23 bits of CRC-32 above 32 bits of id)."""
    key = (zlib.crc32(kind.encode()) & 0x7FFFFF) << 32
    if _kind_keys.setdefault(key, kind) != kind:
        raise ValueError(f"search kinds {kind!r} and {_kind_keys[key]!r} share a key")
    return key


def _runs(text: str) -> list[str]:
    return _RUN.findall(unicodedata.normalize("NFKC", text or "").lower())


def tokens(text: str) -> list[str]:
    """The tokens a document is indexed under (unique, in order of appearance)."""
    out: dict[str, None] = {}
    for run in _runs(text):
        if run.isascii():
            out[run[:MAX_TOKEN]] = None
            continue
        for i, ch in enumerate(run):
            out[ch] = None
            if i + 1 < len(run):
                out[run[i : i + 2]] = None
    return list(out)


def query_tokens(query: str) -> list[str]:
    """The tokens a query needs (at most ``MAX_QUERY_TOKENS``; a longer query matches a
    little more loosely). Empty when the query has no letters or digits at all."""
    out: dict[str, None] = {}
    for run in _runs(query):
        if run.isascii() or len(run) == 1:
            out[run[:MAX_TOKEN]] = None
        else:
            for i in range(len(run) - 1):
                out[run[i : i + 2]] = None
    return list(out)[:MAX_QUERY_TOKENS]


def facet_tokens(facets: Facets | None) -> list[str]:
    """The tokens that stand for facet values (``{"community": 4}`` → ``community·4``);
    a value of None is no facet. Names and values are lower-case ASCII letters and digits,
    so a facet token is one FTS5 term too."""
    out = []
    for name, value in sorted((facets or {}).items()):
        if value is None:
            continue
        text = str(value)
        if not (_FACET_PART.fullmatch(name) and _FACET_PART.fullmatch(text)):
            raise ValueError(f"bad search facet {name!r}={value!r}")
        out.append(f"{name}{FACET_SEP}{text}")
    return out


def _postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _stored(toks: list[str]) -> list[str] | str:
    return toks if _postgres() else " ".join(toks)


Doc = tuple[int, str] | tuple[int, str, Facets | None]


def index_many(kind: str, docs: Iterable[Doc]) -> None:
    """(Re)index several documents of one kind: ``docs`` yields (id, text) or
    (id, text, facets)."""
    rows = [
        (doc[0], _stored(tokens(doc[1]) + facet_tokens(doc[2] if len(doc) > 2 else None)))
        for doc in docs
    ]
    if not rows:
        return
    # An upsert: two transactions re-indexing the same document never collide (on
    # SQLite the update trigger replaces the document's FTS entry).
    if _postgres():
        dialect: Any = postgresql
        values = [{"kind": kind, "ref_id": r, "tokens": toks} for r, toks in rows]
    else:
        dialect, key = sqlite, _kind_key(kind)
        if any(not 0 <= r < 1 << 32 for r, _ in rows):
            raise ValueError("search ids must be in 0 .. 2**32 - 1")
        values = [{"id": key + r, "kind": kind, "ref_id": r, "tokens": t} for r, t in rows]
    for k in range(0, len(values), 1000):
        stmt = dialect.insert(SearchDocument).values(values[k : k + 1000])
        db.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["kind", "ref_id"], set_={"tokens": stmt.excluded.tokens}
            )
        )


def index(kind: str, ref_id: int, text: str, facets: Facets | None = None) -> None:
    """Index one document under ``kind`` (e.g. "listing"), replacing what it had."""
    index_many(kind, [(ref_id, text, facets)])


def remove(kind: str, ref_id: int) -> None:
    """Forget a document (it no longer matches any query)."""
    db.session.execute(
        delete(SearchDocument).where(SearchDocument.kind == kind, SearchDocument.ref_id == ref_id)
    )


def match(kind: str, query: str, facets: Facets | None = None) -> Select[Any]:
    """A SELECT of the ids of ``kind`` documents holding every token of ``query`` (and
    the ``facets``); use it as ``Model.id.in_(match(...))`` beside the caller's own
    filters and order. A query without tokens matches nothing (callers skip the filter
    when ``query_tokens`` is empty)."""
    toks = query_tokens(query)
    if not toks:
        return select(SearchDocument.ref_id).where(false())
    toks += facet_tokens(facets)
    if _postgres():
        return select(SearchDocument.ref_id).where(
            SearchDocument.kind == kind,
            SearchDocument.tokens.op("@>")(cast(postgresql.array(toks), postgresql.ARRAY(Text))),
        )
    # Each token is a quoted FTS5 string (tokens hold only letters and digits, never a
    # quote); strings side by side must all match: FTS5 intersects their posting lists
    # within the kind's rowid range, and a hit's rowid minus the key is the id.
    expr = " ".join(f'"{t}"' for t in toks)
    key = _kind_key(kind)
    return select((_fts.c.rowid - key).label("ref_id")).where(
        literal_column(FTS_TABLE).op("MATCH")(expr),
        _fts.c.rowid.between(key, key + (1 << 32) - 1),
    )


def count(kind: str, query: str, limit: int, facets: Facets | None = None) -> int:
    """How many documents match, counting no further than ``limit``."""
    sub = match(kind, query, facets).limit(limit).subquery()
    return db.session.scalar(select(func.count()).select_from(sub)) or 0


@dataclass(frozen=True)
class Matches:
    """The documents matching a query, fetched once per request: their ids when there are
    at most ``few``, else only the SELECT that finds them. ``found``: how many ids the
    look-up fetched (at most ``few`` + 1; with ``within``, the caller's count)."""

    select: Select[Any]
    ids: list[int] | None
    postgres: bool = False
    found: int = 0

    def _bound(self, id_column: Any) -> Any:
        # PostgreSQL: one array parameter. ``IN (:id_1, ..., :id_900)`` costs a bound
        # parameter each to compile, send and plan (~10 ms for 800 ids, more than the
        # look-ups themselves).
        if self.postgres:
            return id_column == any_(bindparam(None, self.ids, type_=postgresql.ARRAY(Integer)))
        return id_column.in_(self.ids)

    def where(self, id_column: Any, *, walk: bool = False) -> Any:
        """``id_column IN (matches)`` in the shape that stays fast at any size.

        Few: the ids are bound, and each is looked up by primary key. Many, ``walk`` off:
        ``IN (SELECT ...)``, each match looked up by id until the statement's LIMIT. Many,
        ``walk`` on: the database does not read the matches by id; it walks the caller's
        index instead (ordered for a page, or a narrow one such as a community's) probing
        each row's document, and stops at the LIMIT — about the same cost whether 1,000
        or 100,000 documents are stored. SQLite: ``id + 0 IN (SELECT ...)`` (the matches
        hashed once). PostgreSQL: ``EXISTS (SELECT ... WHERE ref_id = id OFFSET 0)``, a
        probe of the document's (kind, ref_id) key per row; the ``OFFSET 0`` keeps it a
        probe. As a join (``IN``, or ``EXISTS`` without it) the planner weighs walking
        against hashing every match and sorting, and a match estimated too rare (two
        tokens it takes as independent, such as a keyword and a community facet) tipped
        it to the hash: 7.6 ms instead of 1.7 ms for a page at 100,000 listings."""
        if self.ids is not None:
            return self._bound(id_column)
        if walk and self.postgres:
            return self.select.where(SearchDocument.ref_id == id_column).offset(0).exists()
        if walk:
            return (id_column + 0).in_(self.select)
        return id_column.in_(self.select)

    def restrict(self, stmt: Select[Any], id_column: Any) -> Select[Any]:
        """``stmt`` (a SELECT from the caller's table) kept to the matches, in the shape
        that counts fastest under a LIMIT: the index's matches drive, and each is looked
        up by id until the LIMIT.

        On PostgreSQL, with many matches, that is a join with the match (``OFFSET 0``
        keeps it a separate subquery): as a semi-join (``IN``) the planner either
        merge-joins, reading the documents in id order and testing each one's tokens
        (30 ms for a 5% keyword at 100,000), or hashes every match before the first row
        comes out; joined, it runs a nested loop from the GIN index that stops at the
        LIMIT (a document id appears once per kind, so the join adds no rows)."""
        if self.ids is not None or not self.postgres:
            return stmt.where(self.where(id_column))
        found = self.select.offset(0).subquery()
        return stmt.join(found, id_column == found.c.ref_id)


def matches(
    kind: str,
    query: str,
    *,
    few: int = 1000,
    facets: Facets | None = None,
    within: tuple[Select[Any], Any] | None = None,
) -> Matches:
    """Run ``match`` once (up to ``few`` + 1 ids) for a caller that counts and pages.

    ``within``: (a SELECT of the caller's ids under its own filters, its id column). The
    ids fetched are then those of the caller's rows that match (``restrict``), so
    ``found`` is the caller's count up to ``few`` + 1 and no count statement is needed:
    one look-up per request instead of a match and a count that both read the index."""
    sub = match(kind, query, facets)
    postgres = _postgres()
    stmt = sub if within is None else Matches(sub, None, postgres).restrict(*within)
    ids = list(db.session.scalars(stmt.limit(few + 1)))
    return Matches(sub, ids if len(ids) <= few else None, postgres, len(ids))


def condition(
    id_column: Any, kind: str, query: str, *, few: int = 1000, facets: Facets | None = None
) -> Any:
    """``matches(kind, query, ...).where(id_column, walk=True)`` in one call."""
    return matches(kind, query, few=few, facets=facets).where(id_column, walk=True)


# ---- rebuilding ------------------------------------------------------------------------

Source = Callable[[], Iterable[Doc]]
_sources: dict[str, Source] = {}


def register_source(kind: str) -> Callable[[Source], Source]:
    """Declare how to list every (id, text) of ``kind``, for ``portal search-reindex``."""

    def deco(fn: Source) -> Source:
        _sources[kind] = fn
        return fn

    return deco


def reindex(kind: str) -> int:
    """Rebuild the index of one kind from its registered source; returns the count."""
    db.session.execute(delete(SearchDocument).where(SearchDocument.kind == kind))
    docs = list(_sources[kind]())
    index_many(kind, docs)
    return len(docs)


def kinds() -> list[str]:
    return sorted(_sources)
