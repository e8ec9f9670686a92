"""Re-encrypts every secret column under the first key of SECRETS_KEYS (`switchboard
rotate-keys`, and after `switchboard migrate`, which also encrypts rows from before encryption).

Generic over the metadata: every column typed `EncryptedText` in every table, read (decrypted
with any key) and written back (encrypted with the first), a table at a time in one transaction.
"""

from __future__ import annotations

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.core.secrets_box import EncryptedText
from backend.db.metadata import metadata


def encrypted_columns() -> dict[Table, list[str]]:
    found: dict[Table, list[str]] = {}
    for table in metadata.sorted_tables:
        names = [c.name for c in table.columns if isinstance(c.type, EncryptedText)]
        if names:
            found[table] = names
    return found


async def reencrypt_all(engine: AsyncEngine) -> int:
    """How many values were rewritten."""
    rewritten = 0
    async with engine.begin() as connection:
        for table, names in encrypted_columns().items():
            keys = list(table.primary_key.columns)
            rows = (await connection.execute(select(*keys, *(table.c[n] for n in names)))).all()
            for row in rows:
                values = {n: getattr(row, n) for n in names if getattr(row, n) is not None}
                if not values:
                    continue
                where = [k == getattr(row, k.name) for k in keys]
                await connection.execute(update(table).where(*where).values(**values))
                rewritten += len(values)
    return rewritten
