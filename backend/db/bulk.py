"""Many ORM rows in one statement, with the session left as if the ORM had written them.

SQLAlchemy's flush sends one INSERT per row on SQLite when it needs the new ids back (it cannot
trust the order of a multi-row RETURNING there), and one UPDATE per row whenever the changed
columns differ. For a set of rows written together (a commit group's webhooks) that is a round
trip to the database thread per row. Here: one multi-row INSERT whose RETURNING carries a unique
key to match each id to its object, and one executemany UPDATE by primary key; the objects end up
persistent, in the identity map, with the written values as their committed state — so later ORM
work in the same transaction sees them exactly as a flush would have left them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from functools import cache
from typing import Any, TypeVar, cast

from sqlalchemy import bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import SQLModel


async def insert_all(
    session: AsyncSession, objects: Sequence[SQLModel], key: tuple[str, ...]
) -> None:
    """Inserts new objects (no id yet) in one statement; `key` names columns unique among them."""
    if not objects:
        return
    table: Any = type(objects[0]).__table__  # type: ignore[attr-defined]
    columns = [c.name for c in table.columns if not c.primary_key]
    rows = [{name: getattr(o, name) for name in columns} for o in objects]
    # executemany with RETURNING: SQLAlchemy sends it as one multi-row INSERT ("insertmanyvalues"),
    # compiled once and cached, unlike a .values(rows) of every set's own length.
    statement = prepared(
        ("insert_all", table.name, key),
        lambda: insert(table).returning(table.c.id, *(table.c[k] for k in key)),
    )
    ids = {tuple(row[1:]): row[0] for row in (await session.execute(statement, rows)).all()}
    for obj in objects:
        obj.id = ids[tuple(getattr(obj, k) for k in key)]
        make_transient_to_detached(obj)
        session.add(obj)  # persistent with these values: no second INSERT


async def update_all(
    session: AsyncSession, objects: Sequence[SQLModel], values: Sequence[dict[str, Any]]
) -> None:
    """One executemany UPDATE by id: `values[i]` for `objects[i]` (same keys for all)."""
    if not objects:
        return
    table: Any = type(objects[0]).__table__  # type: ignore[attr-defined]
    names = list(values[0])
    statement = prepared(
        ("update_all", table.name, tuple(names)),
        lambda: (
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values({name: bindparam(f"_v_{name}") for name in names})
        ),
    )
    params = [
        {"_id": o.id, **{f"_v_{n}": v[n] for n in names}}  # type: ignore[attr-defined]
        for o, v in zip(objects, values, strict=True)
    ]
    await session.connection()  # the same connection and transaction as the session's
    await session.execute(statement, params, execution_options={"synchronize_session": False})
    for obj, new in zip(objects, values, strict=True):
        for name, value in new.items():
            set_committed_value(obj, name, value)


_Model = TypeVar("_Model", bound=SQLModel)
_Statement = TypeVar("_Statement")
_PREPARED: dict[Hashable, Any] = {}


def prepared(key: Hashable, build: Callable[[], _Statement]) -> _Statement:
    """The statement `build()` makes, built once per process under `key` and reused.

    Building a statement (coercing each clause) and computing its cache key cost more than
    running it on the hot path: about 0.1 ms each, per statement, per execution. SQLAlchemy
    memoizes the cache key on the statement object, so a statement kept here pays both once;
    values go in as bound parameters (`bindparam(..., expanding=True)` for an IN list). `key` must
    name everything the statement's shape depends on."""
    found = _PREPARED.get(key)
    if found is None:
        found = _PREPARED[key] = build()
    return cast(_Statement, found)


@cache
def _defaults(model: type[SQLModel]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(plain defaults, default factories) of a model's fields."""
    plain = {n: f.default for n, f in model.model_fields.items() if f.default_factory is None}
    made = {n: f.default_factory for n, f in model.model_fields.items() if f.default_factory}
    return plain, made


def row_object(model: type[_Model], **values: Any) -> _Model:
    """A transient object made the way loading a row makes one: without pydantic's and the
    ORM's per-field work in `__init__` (150 to 300 µs for these models, most of a set-based
    webhook's time). For objects that are only read, or written through Core (`insert_all`'s
    callers, events): never `session.add` one of these."""
    plain, made = _defaults(model)
    obj: _Model = model._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    obj.__dict__.update(plain)
    obj.__dict__.update({n: f() for n, f in made.items() if n not in values})
    obj.__dict__.update(values)
    return obj
