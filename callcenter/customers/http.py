"""A customer's history, for staff."""

from __future__ import annotations

from callcenter.web.endpoints import STAFF, Api, Call, forbidden, not_found

from .schemas import CustomerHistory

api = Api("customers", "Customers and their history across channels.")


@api.route("GET", "/api/customers/{customer_id}/history", roles=STAFF,
           response=CustomerHistory,
           scope="agent: only a customer whose interaction was offered or connected to them",
           summary="A customer's calls and chats on every channel, newest first.")
async def customer_history(call: Call) -> CustomerHistory:
    services = call.services
    try:
        customer_id = int(call.param("customer_id"))
    except ValueError:
        raise not_found("no such customer") from None
    customers = services.customers
    if call.user.role == "agent":
        agent_id = call.user.agent_id or ""
        if not await customers.served_by(customer_id, agent_id,
                                         services.current_tasks(agent_id)):
            raise forbidden("you may read the history of your own customers only")
    customer = await customers.store.get_customer(customer_id)
    if customer is None:
        raise not_found("no such customer")
    return CustomerHistory.model_validate({
        "customer": customers.customer_card(customer),
        "history": await customers.history(customer.id)})
