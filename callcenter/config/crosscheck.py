"""Checks that look across settings and files, run after each file has validated.

Each check needs some of the four files; it runs whenever those validated, so
one broken file does not hide the problems of the others. Every issue points at
the line that holds the bad reference (e.g. the IVR line naming a missing queue).

Severity choices: a dangling reference is an error (the engine would fail at run
time); a queue that nobody can serve yet is a warning (it may be staffed later).
``require_disposition`` with no dispositions is an error, raised by the ``Queue``
model itself: agents could never finish wrap-up.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .chat_check import chat_checks
from .issues import ConfigIssue
from .models import (
    HANGUP,
    AgentsConfig,
    CallcenterConfig,
    HoursNode,
    IvrConfig,
    LanguageNode,
    Queue,
    QueueNode,
    QueuesConfig,
    node_targets,
)
from .shipped import is_loopback, is_shipped
from .source import DataPath, Source
from .speech_check import speech_checks
from .translate import allowed_list, did_you_mean

VOICEMAIL = "voicemail"


@dataclass
class Checked:
    """A file's parse result and, when it validated, its model."""

    src: Source
    model: Any = None


def cross_check(files: dict[str, Checked]) -> list[ConfigIssue]:
    def get(name: str) -> tuple[Source, Any] | None:
        item = files.get(name)
        return (item.src, item.model) if item is not None and item.model is not None else None

    cc, q, a, ivr = (get(n) for n in ("callcenter.yaml", "queues.yaml", "agents.yaml", "ivr.yaml"))
    out: list[ConfigIssue] = speech_checks(cc, ivr, q, get("quality.yaml"))
    out += chat_checks(cc, q)
    if cc:
        out += _callcenter(*cc, ivr_present=ivr is not None)
    if cc and ivr:
        out += _numbers(ivr[0], ivr[1], cc[1])
    if cc and a:
        out += _shipped_secrets(cc[0], cc[1], a[0], a[1])
    if q:
        out += _queues(*q)
    if a:
        out += _agents(*a)
    if q and a:
        out += _queues_agents(q[0], q[1], a[0], a[1])
    if ivr:
        out += _ivr(*ivr)
    if ivr and q:
        out += _ivr_queues(ivr[0], ivr[1], q[0], q[1], a[1] if a else None)
    return out


def _missing_ref(
    src: Source, path: DataPath, what: str, value: str, choices: list[str], kind: str
) -> ConfigIssue:
    return src.issue(
        path,
        f"{what} {src.show(path, value)} does not exist; {kind}: {allowed_list(sorted(choices))}"
        + ("" if src.is_sensitive(path) else did_you_mean(value, choices)),
    )


# ------------------------------------------------------------------------- callcenter.yaml


def _callcenter(src: Source, cc: CallcenterConfig, *, ivr_present: bool) -> list[ConfigIssue]:
    out = []
    if not cc.asterisk.managed:  # nobody can make these up for an Asterisk we do not run
        if cc.ami.secret is None:
            out.append(src.issue(("ami", "secret"), "must be set for an Asterisk you run "
                                 "yourself: the secret of its manager user for the engine"))
        if cc.asterisk.agi_secret is None:
            out.append(src.issue(("asterisk", "agi_secret"), "must be set for an Asterisk you "
                                 "run yourself, with the same value as CC_AGI_KEY in the "
                                 "[globals] of its extensions.conf"))
    if ivr_present and not cc.asterisk.inbound_numbers:
        out.append(src.issue(
            ("asterisk",), "has no inbound_numbers, so no caller can reach the IVR", "warning",
            key=True,
        ))
    return out


# ------------------------------------------------------------------------- queues.yaml


def _queues(src: Source, qc: QueuesConfig) -> list[ConfigIssue]:
    out = []
    ids = list(qc.queues)
    for qid, queue in qc.queues.items():
        base: DataPath = ("queues", qid)
        seen: dict[str, int] = {}
        for i, disp in enumerate(queue.dispositions):
            if disp.code in seen:
                out.append(src.issue(
                    (*base, "dispositions", i, "code"),
                    f"code {disp.code!r} is already used by dispositions[{seen[disp.code]}]",
                ))
            seen.setdefault(disp.code, i)
        last = 0
        for i, step in enumerate(queue.escalation):
            spath: DataPath = (*base, "escalation", i)
            if step.after_seconds <= last:
                out.append(src.issue(
                    (*spath, "after_seconds"),
                    f"must be greater than the previous step's after_seconds ({last}); "
                    "steps apply in order",
                ))
            last = max(last, step.after_seconds)
            if queue.max_wait_seconds and step.after_seconds >= queue.max_wait_seconds:
                out.append(src.issue(
                    (*spath, "after_seconds"),
                    f"is not below max_wait_seconds ({queue.max_wait_seconds}), so this step "
                    "never happens",
                    "warning",
                ))
            target = step.overflow_queue
            if target is not None and target not in qc.queues:
                out.append(_missing_ref(src, (*spath, "overflow_queue"), "overflow queue",
                                        target, ids, "queues"))
            elif target == qid:
                out.append(src.issue((*spath, "overflow_queue"),
                                     "a queue cannot overflow into itself"))
    return out


# ------------------------------------------------------------------------- agents.yaml


def _agents(src: Source, ac: AgentsConfig) -> list[ConfigIssue]:
    out = []
    ids: dict[str, int] = {}
    exts: dict[str, int] = {}
    teams = list(ac.teams)
    for i, agent in enumerate(ac.agents):
        base: DataPath = ("agents", i)
        key = agent.id.lower()
        if key in ids:
            j = ids[key]
            out.append(src.issue(
                (*base, "id"),
                f"agent id {agent.id!r} is already used by agents[{j}] "
                f"(line {src.position(('agents', j, 'id'))[0]})",
            ))
        ids.setdefault(key, i)
        if agent.extension is not None:
            if agent.extension in exts:
                j = exts[agent.extension]
                line = src.position(("agents", j, "extension"))[0]
                out.append(src.issue(
                    (*base, "extension"),
                    f"extension {src.show((*base, 'extension'), agent.extension)} is already "
                    f"used by {ac.agents[j].id} (line {line})",
                ))
            exts.setdefault(agent.extension, i)
        if agent.team is not None and agent.team not in ac.teams:
            out.append(_missing_ref(src, (*base, "team"), "team", agent.team, teams, "teams"))
        for k, team in enumerate(agent.teams_supervised):
            if team not in ac.teams:
                out.append(_missing_ref(src, (*base, "teams_supervised", k), "team", team, teams,
                                        "teams"))
    return out


# ------------------------------------------------------------------------- queues + agents


def _queues_agents(
    qsrc: Source, qc: QueuesConfig, asrc: Source, ac: AgentsConfig
) -> list[ConfigIssue]:
    out = []
    qids = list(qc.queues)
    for i, agent in enumerate(ac.agents):
        for k, qid in enumerate(agent.queues or ()):
            if qid not in qc.queues:
                out.append(_missing_ref(asrc, ("agents", i, "queues", k), "queue", qid, qids,
                                        "queues"))
    for qid, queue in qc.queues.items():
        base: DataPath = ("queues", qid)
        for k, team in enumerate(queue.teams):
            if team not in ac.teams:
                out.append(_missing_ref(qsrc, (*base, "teams", k), "team", team, list(ac.teams),
                                        "teams (in agents.yaml)"))
        skill_issues = list(_skills_unstaffed(qsrc, (*base, "skills"), queue.skills, ac))
        out += skill_issues
        for i, step in enumerate(queue.escalation):
            for k, skill in enumerate(step.add_skills):
                if not any(skill in a.skills for a in ac.agents):
                    out.append(qsrc.issue(
                        (*base, "escalation", i, "add_skills", k),
                        f"no agent has skill {skill!r}, so adding it widens nothing",
                        "warning",
                    ))
        if not skill_issues and not _eligible(queue, qid, ac):
            out.append(qsrc.issue(
                base,
                "no agent can take this queue's contacts (check agents' queues, skills, "
                "extensions and capacity for " + "/".join(queue.channels) + ")",
                "warning",
                key=True,
            ))
    return out


def _skills_unstaffed(
    src: Source, path: DataPath, skills: dict[str, int], ac: AgentsConfig
) -> Iterator[ConfigIssue]:
    """Warnings for required skills that no agent has at the required level."""
    for skill, level in skills.items():
        holders = [(a.skills[skill], a.id) for a in ac.agents if skill in a.skills]
        if not holders:
            yield src.issue(
                (*path, skill),
                f"no agent has skill {skill!r}, so contacts needing it wait until an agent "
                "gets it (or an escalation step relaxes it)",
                "warning",
                key=True,
            )
        elif max(holders)[0] < level:
            best, who = max(holders)
            yield src.issue(
                (*path, skill),
                f"no agent has skill {skill!r} at level {level} or more (highest: {best}, {who})",
                "warning",
                key=True,
            )


def _eligible(queue: Queue, qid: str, ac: AgentsConfig) -> bool:
    for agent in ac.agents:
        if agent.queues is not None:
            member = qid in agent.queues
        else:
            member = agent.role != "admin" and agent.meets(queue.skills)
        if member and ((queue.voice and agent.takes_voice) or (queue.chat and agent.takes_chat)):
            return True
    return False


# ------------------------------------------------------------------------- ivr.yaml


def _ivr(src: Source, ivr: IvrConfig) -> list[ConfigIssue]:
    out = []
    nodes = list(ivr.nodes)
    if ivr.entry not in ivr.nodes:
        out.append(_missing_ref(src, ("entry",), "entry node", ivr.entry, nodes, "nodes"))
    for nid, node in ivr.nodes.items():
        base: DataPath = ("nodes", nid)
        for field, target in node_targets(node):
            path: DataPath = (*base, *field.split(".", 1))
            if target not in ivr.nodes and target != HANGUP:
                out.append(_missing_ref(src, path, "node", target, nodes, "nodes"))
        if isinstance(node, HoursNode) and node.schedule is not None \
                and node.schedule not in ivr.schedules:
            out.append(_missing_ref(src, (*base, "schedule"), "schedule", node.schedule,
                                    list(ivr.schedules), "schedules"))
        if isinstance(node, LanguageNode):
            for key, lang in node.options.items():
                if lang not in ivr.languages:
                    out.append(src.issue(
                        (*base, "options", key),
                        f"{lang!r} is not one of this IVR's languages "
                        f"({', '.join(ivr.languages)})",
                    ))
        prompt = getattr(node, "prompt", None)
        if prompt is not None:
            missing = [lang for lang in ivr.languages if not prompt.covers(lang)]
            if missing:
                out.append(src.issue(
                    (*base, "prompt"),
                    f"has no text for {', '.join(missing)} and no sound file; "
                    f"every prompt needs all of this IVR's languages ({', '.join(ivr.languages)})",
                ))
    for sid, sched in ivr.schedules.items():
        goto = sched.closed_action.goto
        if goto is not None and goto != VOICEMAIL and goto not in ivr.nodes:
            out.append(_missing_ref(src, ("schedules", sid, "closed_action", "goto"), "node",
                                    goto, [*nodes, VOICEMAIL], "nodes"))
    for number, entry in ivr.numbers.items():
        if entry.entry not in ivr.nodes:
            out.append(_missing_ref(src, ("numbers", number, "entry"), "entry node",
                                    entry.entry, nodes, "nodes"))
        if entry.language is not None and entry.language not in ivr.languages:
            out.append(src.issue(("numbers", number, "language"),
                                 f"{entry.language!r} is not one of this IVR's languages "
                                 f"({', '.join(ivr.languages)})"))
    reachable = _reachable(ivr)
    for nid in ivr.nodes:
        if nid not in reachable and ivr.entry in ivr.nodes:
            out.append(src.issue(("nodes", nid), f"no path from entry {ivr.entry!r} leads here",
                                 "warning", key=True))
    return out


def _shipped_secrets(csrc: Source, cc: CallcenterConfig, asrc: Source,
                     ac: AgentsConfig) -> list[ConfigIssue]:
    """Beyond loopback, no password or secret that ships with the sample may be in force:
    anyone on the network could read it in this repository."""
    web_open = not is_loopback(cc.web.bind)
    sip_open = not is_loopback(cc.asterisk.sip_bind)
    if not web_open and not sip_open:
        return []
    out = []
    why = f"is a value shipped with the sample while web.bind is {cc.web.bind}"
    sip_why = (why if web_open else "is a value shipped with the sample while "
               f"asterisk.sip_bind is {cc.asterisk.sip_bind}")
    if web_open and cc.ami.secret is not None and is_shipped(cc.ami.secret.get_secret_value()):
        out.append(csrc.issue(("ami", "secret"), f"{why}; set CALLCENTER_AMI_SECRET (or leave "
                              "it unset: a managed Asterisk then gets a random one)"))
    for i, agent in enumerate(ac.agents):
        for field, env, reason in (
                ("sip_password", f"CALLCENTER_SIP_PASSWORD_{agent.extension}", sip_why),
                ("password", "CALLCENTER_INITIAL_PASSWORD", why if web_open else None)):
            value = getattr(agent, field)
            if reason and value is not None and is_shipped(value.get_secret_value()):
                out.append(asrc.issue(("agents", i, field),
                                      f"of {agent.id} {reason}; set {env} (or change it here)"))
    return out


def _numbers(isrc: Source, ivr: IvrConfig, cc: CallcenterConfig) -> list[ConfigIssue]:
    """A number with its own entry must be one Asterisk sends to the IVR."""
    inbound = list(cc.asterisk.inbound_numbers)
    return [isrc.issue(("numbers", number),
                       f"{number} is not in callcenter.yaml's asterisk.inbound_numbers "
                       f"({allowed_list(inbound)}); calls to it never reach the IVR", key=True)
            for number in ivr.numbers if number not in inbound]


def _reachable(ivr: IvrConfig) -> set[str]:
    seen: set[str] = set()
    todo = [ivr.entry, *(n.entry for n in ivr.numbers.values())]
    while todo:
        nid = todo.pop()
        if nid in seen or nid not in ivr.nodes:
            continue
        seen.add(nid)
        todo += [t for _, t in node_targets(ivr.nodes[nid])]
    # Nodes used as a closed-hours destination are reachable through queues/schedules.
    for sched in ivr.schedules.values():
        if sched.closed_action.goto:
            seen.add(sched.closed_action.goto)
    return seen


# ------------------------------------------------------------------------- ivr + queues


def _ivr_queues(
    isrc: Source,
    ivr: IvrConfig,
    qsrc: Source,
    qc: QueuesConfig,
    ac: AgentsConfig | None,
) -> list[ConfigIssue]:
    out = []
    qids = list(qc.queues)
    for nid, node in ivr.nodes.items():
        base: DataPath = ("nodes", nid)
        if isinstance(node, QueueNode):
            queue = qc.queues.get(node.queue)
            if queue is None:
                out.append(_missing_ref(isrc, (*base, "queue"), "queue", node.queue, qids,
                                        "queues (in queues.yaml)"))
            elif not queue.voice:
                out.append(isrc.issue(
                    (*base, "queue"),
                    f"queue {node.queue!r} takes no voice calls (channels: "
                    f"{', '.join(queue.channels)}); add voice to its channels",
                ))
            if node.skills and ac is not None:
                out += _skills_unstaffed(isrc, (*base, "skills"), node.skills, ac)
        if isinstance(node, HoursNode) and node.queue is not None:
            queue = qc.queues.get(node.queue)
            if queue is None:
                out.append(_missing_ref(isrc, (*base, "queue"), "queue", node.queue, qids,
                                        "queues (in queues.yaml)"))
            elif queue.business_hours is None:
                out.append(isrc.issue(
                    (*base, "queue"),
                    f"queue {node.queue!r} has no business_hours, so this node always goes "
                    f"to {node.open!r}",
                    "warning",
                ))
    targets = [*ivr.nodes, VOICEMAIL]
    for qid, queue in qc.queues.items():
        if queue.business_hours is None:
            continue
        goto = queue.business_hours.closed_action.goto
        if goto is not None and goto not in targets:
            out.append(_missing_ref(qsrc, ("queues", qid, "business_hours", "closed_action",
                                           "goto"), "IVR node", goto, targets,
                                    "nodes (in ivr.yaml) or voicemail"))
    return out


__all__ = ["Checked", "cross_check"]
