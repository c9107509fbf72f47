"""A customer's history, for staff."""

from __future__ import annotations

from callcenter.webkit.endpoints import STAFF, Api, Call, forbidden, not_found

from .schemas import CustomerHistory
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
