"""Customers and their identities (phone, WeChat openid, web visitor, email).

One person is one ``customers`` row whatever channel they use; each way of recognising
them is a ``customer_identities`` row. When an identity turns out to belong to two
customers they are merged, and the merged-away row keeps pointing at its survivor so
old ids stay valid.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Mapping
from typing import Any

from .database import _UNSET, Database, _dumps, _loads, _now
from .errors import NotFound
from .models import IDENTITY_KINDS, Customer, CustomerIdentity

__all__ = ["CustomerRecords", "normalize_identity"]

log = logging.getLogger(__name__)

_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
_DIGIT_RUN = re.compile(r"\d{4}")


def normalize_identity(kind: str, value: str) -> tuple[str, str]:
    """Validate the kind and canonicalize the value so the same person maps to one row.

    Phones lose separators (spaces, dashes, dots, parentheses); emails are lower-cased;
    every value is stripped. No country-code rewriting is done: callers should pass
    numbers in one consistent form (E.164 preferred).
    """
    if kind not in IDENTITY_KINDS:
        raise ValueError(
            f"unknown identity kind {kind!r}; expected one of {sorted(IDENTITY_KINDS)}"
        )
    text = str(value).strip()
    if kind == "phone":
        text = _PHONE_SEPARATORS.sub("", text)
    elif kind == "email":
        text = text.lower()
    if not text:
        raise ValueError(f"empty {kind} identity")
    return kind, text


def _identity(row: sqlite3.Row) -> CustomerIdentity:
    return CustomerIdentity(
        id=row["id"], customer_id=row["customer_id"], kind=row["kind"], value=row["value"],
        created_at=row["created_at"],
    )  # fmt: skip


def _customer(row: sqlite3.Row, identities: list[CustomerIdentity]) -> Customer:
    return Customer(
        id=row["id"], name=row["name"], attributes=_loads(row["attributes"], {}),
        created_at=row["created_at"], updated_at=row["updated_at"],
        merged_into=row["merged_into"], merged_at=row["merged_at"], identities=identities,
    )  # fmt: skip


class CustomerRecords(Database):
    """Find, create, update and merge customers."""

    async def get_customer(self, customer_id: int) -> Customer | None:
        """The customer with their identities. A merged-away id returns the survivor."""
        async with self._hold():
            row = await self._one("SELECT * FROM customers WHERE id = ?", (customer_id,))
            if row is not None and row["merged_into"] is not None:
                resolved = await self._resolve_customer_id(row["merged_into"])
                row = None if resolved is None else await self._one(
                    "SELECT * FROM customers WHERE id = ?", (resolved,))
            if row is None:
                return None
            identities = await self._all(
                "SELECT * FROM customer_identities WHERE customer_id = ? ORDER BY id",
                (row["id"],))
            return _customer(row, [_identity(r) for r in identities])

    async def search_customers(self, needle: str, *, exact_numbers: bool = False,
                               limit: int = 50) -> list[int]:
        """Ids of (unmerged) customers whose name, an identity (phone, WeChat openid, web
        visitor id, e-mail), their attributes (order numbers, tags) or a wrap-up note of
        theirs contains ``needle``, most recently updated first.

        ``exact_numbers``: for readers who see numbers masked a partial match would tell the
        hidden digits: a query with four digits in a row then matches an identity only
        whole, and a note or attribute only as a whole word.
        """
        text = needle.strip()
        digits = _PHONE_SEPARATORS.sub("", text)
        if digits.lstrip("+").isdigit():
            text = digits
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        exact = exact_numbers and _DIGIT_RUN.search(text) is not None
        identity = "i.value = ?" if exact else "i.value LIKE ? ESCAPE '\\'"
        sql = (
            "SELECT c.id, c.attributes,"
            " (SELECT group_concat(n.notes, char(10)) FROM interactions n"
            "  WHERE n.customer_id = c.id AND n.notes LIKE ? ESCAPE '\\') AS notes,"
            " (c.name LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM customer_identities i"
            f"  WHERE i.customer_id = c.id AND {identity})) AS direct"
            " FROM customers c WHERE c.merged_into IS NULL AND (direct OR notes IS NOT NULL"
            "  OR c.attributes LIKE ? ESCAPE '\\')"
            " ORDER BY c.updated_at DESC, c.id DESC")
        word = re.compile(r"(?<![0-9A-Za-z])" + re.escape(text) + r"(?![0-9A-Za-z])")
        found: list[int] = []
        async with self._hold():
            rows = await self._all(sql, (like, like, text if exact else like, like))
        for row in rows:
            extra = [row["notes"] or ""]
            if text.lower() in (row["attributes"] or "").lower():
                extra.append(row["attributes"])
            if row["direct"] or any(word.search(x) if exact else text.lower() in x.lower()
                                    for x in extra if x):
                found.append(row["id"])
                if len(found) >= limit:
                    break
        return found

    async def find_customer(self, kind: str, value: str) -> Customer | None:
        """The customer owning this identity, or None (never creates)."""
        kind, value = normalize_identity(kind, value)
        async with self._hold():
            row = await self._one(
                "SELECT customer_id FROM customer_identities WHERE kind = ? AND value = ?",
                (kind, value),
            )
            return None if row is None else await self.get_customer(row["customer_id"])

    async def find_or_create_customer(
        self, kind: str, value: str, name: str | None = None, *, now: float | None = None
    ) -> Customer:
        """The customer owning this identity, created (with ``created_at`` = now) if none.

        If ``name`` is given and the existing customer has none, it is filled in.
        """
        kind, value = normalize_identity(kind, value)
        at = _now(now)
        async with self.transaction():
            row = await self._one(
                "SELECT customer_id FROM customer_identities WHERE kind = ? AND value = ?",
                (kind, value),
            )
            if row is not None:
                customer_id = await self._resolve_customer_id(row["customer_id"])
                assert customer_id is not None
                if name:
                    await self._exec(
                        "UPDATE customers SET name = ?, updated_at = ? "
                        "WHERE id = ? AND (name IS NULL OR name = '')",
                        (name, at, customer_id),
                    )
            else:
                async with self._conn().execute(
                    "INSERT INTO customers (name, attributes, created_at, updated_at)"
                    " VALUES (?, '{}', ?, ?)",
                    (name, at, at),
                ) as cur:
                    customer_id = cur.lastrowid
                await self._exec(
                    "INSERT INTO customer_identities (customer_id, kind, value, created_at)"
                    " VALUES (?, ?, ?, ?)",
                    (customer_id, kind, value, at),
                )
            customer = await self.get_customer(customer_id)
            assert customer is not None
            return customer

    async def link_identity(
        self, customer_id: int, kind: str, value: str, *, now: float | None = None
    ) -> Customer:
        """Attach an identity to a customer; returns the (possibly merged) customer.

        If the identity already belongs to another customer, the two are MERGED. The
        survivor is the OLDER customer (smaller ``created_at``, then smaller id), so the
        id agents and reports have seen longest stays valid; see :meth:`merge_customers`.
        """
        kind, value = normalize_identity(kind, value)
        at = _now(now)
        async with self.transaction():
            resolved = await self._resolve_customer_id(customer_id)
            if resolved is None:
                raise NotFound(f"customer {customer_id}")
            row = await self._one(
                "SELECT customer_id FROM customer_identities WHERE kind = ? AND value = ?",
                (kind, value),
            )
            if row is None:
                await self._exec(
                    "INSERT INTO customer_identities (customer_id, kind, value, created_at)"
                    " VALUES (?, ?, ?, ?)",
                    (resolved, kind, value, at),
                )
                await self._exec("UPDATE customers SET updated_at = ? WHERE id = ?", (at, resolved))
                survivor = resolved
            else:
                owner = await self._resolve_customer_id(row["customer_id"])
                assert owner is not None
                if owner == resolved:
                    survivor = resolved
                else:
                    a = await self._one(
                        "SELECT id, created_at FROM customers WHERE id = ?", (resolved,)
                    )
                    b = await self._one(
                        "SELECT id, created_at FROM customers WHERE id = ?", (owner,)
                    )
                    assert a is not None and b is not None
                    older, newer = sorted((a, b), key=lambda r: (r["created_at"], r["id"]))
                    survivor = older["id"]
                    await self._merge(survivor, newer["id"], at)
            customer = await self.get_customer(survivor)
            assert customer is not None
            return customer

    async def merge_customers(
        self, survivor_id: int, other_id: int, *, now: float | None = None
    ) -> Customer:
        """Merge ``other_id`` into ``survivor_id`` (explicit choice, e.g. by a supervisor).

        Identities, interactions, messages and callbacks move to the survivor; attributes
        are combined (the survivor's values win on conflicts) and the survivor keeps its
        name unless it has none. The other row is kept with ``merged_into`` set, so old
        ids still resolve through :meth:`get_customer`.
        """
        at = _now(now)
        async with self.transaction():
            keep = await self._resolve_customer_id(survivor_id)
            other = await self._resolve_customer_id(other_id)
            if keep is None:
                raise NotFound(f"customer {survivor_id}")
            if other is None:
                raise NotFound(f"customer {other_id}")
            if keep != other:
                await self._merge(keep, other, at)
            customer = await self.get_customer(keep)
            assert customer is not None
            return customer

    async def _merge(self, survivor: int, loser: int, at: float) -> None:
        s = await self._one("SELECT name, attributes FROM customers WHERE id = ?", (survivor,))
        lo = await self._one("SELECT name, attributes FROM customers WHERE id = ?", (loser,))
        assert s is not None and lo is not None
        attributes = {**_loads(lo["attributes"], {}), **_loads(s["attributes"], {})}
        name = s["name"] or lo["name"]
        for table in ("customer_identities", "interactions", "messages", "callbacks"):
            await self._exec(
                f"UPDATE {table} SET customer_id = ? WHERE customer_id = ?", (survivor, loser)
            )
        await self._exec(
            "UPDATE customers SET name = ?, attributes = ?, updated_at = ? WHERE id = ?",
            (name, _dumps(attributes), at, survivor),
        )
        await self._exec(
            "UPDATE customers SET merged_into = ?, merged_at = ?, updated_at = ? WHERE id = ?",
            (survivor, at, at, loser),
        )
        # Keep chains one hop long for customers merged into the loser earlier.
        await self._exec(
            "UPDATE customers SET merged_into = ? WHERE merged_into = ?", (survivor, loser)
        )
        log.info("merged customer %s into %s", loser, survivor)

    async def update_customer(
        self,
        customer_id: int,
        *,
        name: str | None = _UNSET,
        attributes: Mapping[str, Any] | None = None,
        replace_attributes: bool = False,
        now: float | None = None,
    ) -> Customer:
        """Change the name and/or attributes (vip, language...).

        ``attributes`` are merged into the existing ones; a key set to ``None`` is
        removed. With ``replace_attributes=True`` they replace the whole object.
        """
        at = _now(now)
        async with self.transaction():
            resolved = await self._resolve_customer_id(customer_id)
            if resolved is None:
                raise NotFound(f"customer {customer_id}")
            fields: dict[str, Any] = {"updated_at": at}
            if name is not _UNSET:
                fields["name"] = name
            if attributes is not None:
                if replace_attributes:
                    merged = dict(attributes)
                else:
                    row = await self._one(
                        "SELECT attributes FROM customers WHERE id = ?", (resolved,)
                    )
                    assert row is not None
                    merged = {**_loads(row["attributes"], {}), **attributes}
                fields["attributes"] = _dumps({k: v for k, v in merged.items() if v is not None})
            await self._update("customers", "id", resolved, fields)
            customer = await self.get_customer(resolved)
            assert customer is not None
            return customer
