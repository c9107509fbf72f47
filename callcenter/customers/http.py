"""Customers for staff: search, and a customer's history."""

from __future__ import annotations

from callcenter.errors import FieldError
from callcenter.webkit.endpoints import STAFF, Api, Call, forbidden, not_found

from .schemas import CustomerCard, CustomerHistory, ProfileChange
from .services import CustomerForbidden

api = Api("customers", "Customers and their history across channels.")


@api.route("GET", "/api/customers/{customer_id}/history", roles=STAFF,
           response=CustomerHistory,
           scope="agent: a customer whose interaction was offered or connected to them; "
                 "supervisor: a customer with a call or chat in a queue they watch, and only "
                 "those queues' entries; admin: any. Numbers in the text are masked for "
                 "agents. An id that is not the reader's, or not anyone's, is 403 (404 only "
                 "for admins)",
           summary="A customer's calls and chats on every channel, newest first.",
           errors={404})
async def customer_history(call: Call) -> CustomerHistory:
    try:
        customer_id = int(call.param("customer_id"))
    except ValueError:
        raise not_found("no such customer") from None
    try:
        found = await call.service.history_for(call.user, customer_id)
    except CustomerForbidden as exc:
        raise forbidden(str(exc)) from None
    except LookupError as exc:
        raise not_found(str(exc)) from None
    return CustomerHistory.model_validate(found)


@api.route("GET", "/api/customers", roles=STAFF, response=CustomerCard, list_response=True,
           scope="the customers the reader may read (as for their history); a phone number "
                 "is found only whole by readers who see numbers masked",
           summary="Search customers by name, phone, WeChat or visitor id, or an order "
                   "number (in their record or a wrap-up note): ?q=&limit=", errors={422})
async def search_customers(call: Call) -> list[CustomerCard]:
    query = call.request.query
    unknown = set(query) - {"q", "limit"}
    if unknown:
        raise FieldError(sorted(unknown)[0], "unknown parameter")
    text = query.get("q", "").strip()
    if not 1 <= len(text) <= 100:
        raise FieldError("q", "1 to 100 characters (one is enough for a Chinese surname)")
    try:
        limit = int(query.get("limit", "20"))
    except ValueError:
        raise FieldError("limit", "a whole number") from None
    if not 1 <= limit <= 50:
        raise FieldError("limit", "1 to 50")
    found = await call.service.search(call.user, text, limit)
    return [CustomerCard.model_validate(card) for card in found]


@api.route("PATCH", "/api/customers/{customer_id}", roles=STAFF, body=ProfileChange,
           response=CustomerCard,
           scope="a customer the reader may read (as for their history); VIP: supervisors "
                 "and admins only",
           summary="Change a customer's tags, note or VIP mark (each change logged).",
           errors={404})
async def change_profile(call: Call) -> CustomerCard:
    try:
        customer_id = int(call.param("customer_id"))
    except ValueError:
        raise not_found("no such customer") from None
    body: ProfileChange = call.body
    try:
        card = await call.service.change_profile(call.user, customer_id,
                                                 body.model_dump(exclude_none=True))
    except CustomerForbidden as exc:
        raise forbidden(str(exc)) from None
    except LookupError as exc:
        raise not_found(str(exc)) from None
    return CustomerCard.model_validate(card)
