"""What the agent console shows and does: the one service the agents' HTTP routes call.

It reads the agent's state (routing), offers (with their screen-pop), contacts
waiting for wrap-up (the store) and their own profile and phone settings
(agents.yaml), and passes the agent's requests on to ``AgentService``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from callcenter.config.models import Agent as AgentConfig
from callcenter.config.models import Config
from callcenter.customers.services import CustomerService
from callcenter.routing.services import RoutingService
from callcenter.storage import Interaction, Store

from .phone_relay import PATH as PHONE_RELAY
from .provisioning import Provisioning, linphone_xml
from .schemas import REASONS
from .services import AgentError, AgentService, NotYours


class NoAgentProfile(AgentError):
    """The account has no agent in agents.yaml."""


class AgentConsole:
    def __init__(self, *, agents: AgentService, customers: CustomerService,
                 routing: RoutingService, store: Store, config: Callable[[], Config],
                 clock: Callable[[], float], softphone: Callable[[], dict[str, Any]],
                 read_mark: Callable[[], int]) -> None:
        self.agents = agents
        self.customers = customers
        self.routing = routing
        self.store = store
        self.config = config
        self.clock = clock
        self._softphone = softphone  # where phones register: host, port, transport
        self._read_mark = read_mark  # dates a status read among the live events
        self.provisioning = Provisioning(clock)

    def agent(self, agent_id: str | None) -> AgentConfig:
        agent = self.config().agent(agent_id) if agent_id else None
        if agent is None:
            raise NoAgentProfile("your account has no agent profile in agents.yaml")
        return agent

    async def status(self, agent_id: str) -> dict[str, Any]:
        """The agent's status, with ``as_of`` (``EventBus.mark``): live events with a lower
        ``seq`` are in it, later reads have a higher ``as_of``."""
        as_of = self._read_mark()
        data: dict[str, Any] = self.agents.status(agent_id)
        data["as_of"] = as_of
        changes = await self.store.agent_states_since(self.clock() - 86400, agent_id=agent_id)
        data["since"] = changes[-1].at if changes else None
        return data

    async def console(self, agent_id: str | None) -> dict[str, Any]:
        agent = self.agent(agent_id)
        config = self.config()
        sip = self._softphone()
        prefix = config.callcenter.asterisk.agent_endpoint_prefix
        team = config.teams.get(agent.team or "")
        return {
            "profile": {"id": agent.id, "name": agent.name, "extension": agent.extension,
                        "team": agent.team, "team_name": team.name if team else None,
                        "languages": list(agent.languages), "takes_voice": agent.takes_voice,
                        "takes_chat": agent.takes_chat},
            "status": await self.status(agent.id),
            "softphone": {"server": str(sip.get("host", "127.0.0.1")),
                          "port": int(sip.get("port", 5060)),
                          "transport": str(sip.get("transport", "udp")).upper(),
                          "username": f"{prefix}{agent.extension}" if agent.extension else None,
                          "password": (agent.sip_password.get_secret_value()
                                       if agent.sip_password else None),
                          "password_hint": "sip_password",
                          "browser": self._browser_phone(agent, sip)},
            "reasons": list(REASONS),
            "server_time": self.clock()}

    def _browser_phone(self, agent: AgentConfig, sip: dict[str, Any]) -> dict[str, Any] | None:
        """Where the console's own phone registers (its endpoint ``<extension>-web``),
        through the engine's relay (``phone_relay.py``) on the page's own origin."""
        if agent.browser_device is None or agent.sip_password is None:
            return None
        prefix = self.config().callcenter.asterisk.agent_endpoint_prefix
        return {"device": agent.browser_device, "username": f"{prefix}{agent.browser_device}",
                "domain": str(sip.get("host", "127.0.0.1")), "websocket": PHONE_RELAY}

    # ---- a softphone that fetches its settings (Linphone) --------------------------------

    def provisioning_link(self, agent_id: str | None) -> dict[str, Any]:
        """A one-time link Linphone fetches its account from (see provisioning.py)."""
        agent = self.agent(agent_id)
        if not agent.extension or agent.sip_password is None:
            raise AgentError("you have no phone extension in agents.yaml")
        token, expires = self.provisioning.grant(agent.id)
        origin = self.config().callcenter.web.public_origin.rstrip("/")
        return {"url": f"{origin}/provisioning/linphone/{token}.xml", "expires_at": expires}

    def provisioning_xml(self, token: str) -> str | None:
        """The XML for a token, once; None for an unknown, used or expired one."""
        agent_id = self.provisioning.redeem(token)
        agent = self.config().agent(agent_id) if agent_id else None
        if agent is None or not agent.extension or agent.sip_password is None:
            return None
        sip = self._softphone()
        prefix = self.config().callcenter.asterisk.agent_endpoint_prefix
        return linphone_xml(name=agent.name, username=f"{prefix}{agent.extension}",
                            password=agent.sip_password.get_secret_value(),
                            host=str(sip.get("host", "127.0.0.1")),
                            port=int(sip.get("port", 5060)),
                            transport=str(sip.get("transport", "udp")))

    # ---- requests -------------------------------------------------------------------

    async def login(self, agent_id: str | None, device: str | None,
                    ready: bool) -> dict[str, Any]:
        agent = self.agent(agent_id)
        self.agents.login(agent.id, device, ready=ready)
        return await self.status(agent.id)

    async def logout(self, agent_id: str | None) -> dict[str, Any]:
        agent = self.agent(agent_id)
        self.agents.logout(agent.id)
        return await self.status(agent.id)

    async def set_state(self, agent_id: str | None, state: str,
                        reason: str | None) -> dict[str, Any]:
        agent = self.agent(agent_id)
        self.agents.set_state(agent.id, state, reason)
        return await self.status(agent.id)

    async def answer_offer(self, agent_id: str | None, offer_id: str,
                           accept: bool) -> dict[str, Any]:
        agent = self.agent(agent_id)
        offer = self.agents.offer(offer_id)
        if offer is not None and offer.agent_id != agent.id:
            raise NotYours("that offer is not yours")
        if accept:
            self.agents.accept(agent.id, offer_id)
        else:
            self.agents.reject(agent.id, offer_id)
        return await self.status(agent.id)

    async def offers(self, agent_id: str | None) -> list[dict[str, Any]]:
        """Offers waiting for the agent, each with its screen-pop (after a page reload)."""
        agent = self.agent(agent_id)
        view = self.routing.agent(agent.id)
        out = []
        for offer_id in view.offers if view else ():
            offer = self.agents.offer(offer_id)
            if offer is None or offer.agent_id != agent.id:
                continue
            out.append({"offer_id": offer.offer_id, "task_id": offer.task_id,
                        "channel": offer.channel, "queue": offer.queue,
                        "deadline": offer.deadline,
                        "pop": await self.customers.screen_pop(offer.task_id)})
        return out

    # ---- wrap-up ------------------------------------------------------------------------

    async def wrapups(self, agent_id: str | None) -> list[dict[str, Any]]:
        """The agent's wrap-up forms still open: running wrap-ups, and contacts that
        ended within ``PENDING_WRAPUP_WINDOW`` whose form was not sent."""
        agent = self.agent(agent_id)
        view = self.routing.agent(agent.id)
        ends = view.wrap_ends if view else {}
        read = {i.id: i for i in (await self.agents.owed_forms(agent.id)).get(agent.id, [])}
        out = []
        for task_id in [*ends, *(t for t in read if t not in ends)]:
            found = await self._wrapup(task_id, ends.get(task_id), read.get(task_id))
            if found is not None:
                out.append(found)
        return out

    async def _wrapup(self, task_id: str, ends_at: float | None,
                      interaction: Interaction | None = None) -> dict[str, Any] | None:
        """The form's contents (``interaction``: the contact, if read already)."""
        interaction = interaction or await self.store.get_interaction(task_id)
        if interaction is None:
            return None
        config = self.config()
        queue = config.queues.get(interaction.queue or "")
        summary = await self.store.latest_summary(task_id)
        customer = (await self.store.get_customer(interaction.customer_id)
                    if interaction.customer_id is not None else None)
        return {"task_id": task_id, "queue": interaction.queue,
                "queue_name": self.customers.queue_name(interaction.queue),
                "channel": interaction.channel,
                "dispositions": [d.model_dump() for d in queue.dispositions] if queue else [],
                "require_disposition": bool(queue and queue.require_disposition),
                "summary": summary.text if summary else None,
                "customer_name": customer.name if customer else None,
                "caller": interaction.caller_masked,
                "summary_expected": (interaction.channel == "voice"
                                     and config.callcenter.stt.enabled
                                     and queue is not None and queue.recording.enabled),
                "ended_at": interaction.ended_at, "ends_at": ends_at}

    async def finish_wrapup(self, agent_id: str | None, task_id: str, disposition: str | None,
                            notes: str | None) -> dict[str, Any]:
        agent = self.agent(agent_id)
        await self.agents.finish_wrapup(agent.id, task_id, disposition,
                                        (notes or "").strip() or None)
        return await self.status(agent.id)

    async def extend_wrapup(self, agent_id: str | None, task_id: str,
                            seconds: int) -> dict[str, Any]:
        agent = self.agent(agent_id)
        ends_at = self.agents.extend_wrapup(agent.id, task_id, seconds)
        found = await self._wrapup(task_id, ends_at)
        if found is None:
            raise LookupError("no such interaction")
        return found
