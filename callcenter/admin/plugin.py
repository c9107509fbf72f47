"""Builds the admin feature: the configuration editor and its audit trail."""

from __future__ import annotations

from callcenter.features import Dependencies, TopicAudience

from . import http
from .notifier import ADMIN_TOPICS, AdminNotifier, admins_only
from .services import AdminService


def load(deps: Dependencies) -> None:
    admin = deps.provide(AdminService(config_store=deps.config_store, store=deps.store,
                                      notifier=AdminNotifier(deps.bus), clock=deps.clock))
    deps.web.add_api(http.api, admin)
    deps.web.audiences.append(TopicAudience(ADMIN_TOPICS, admins_only))
