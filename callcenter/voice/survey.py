"""The keypress survey after a call (``callcenter.yaml`` ``reports.csat.voice_survey``).

When the survey is on, a queued call carries ``CC_SURVEY=yes`` and the question in the
caller's IVR language (``intake``). When the agent hangs up, the caller stays on the
line (``cc-end`` → ``cc-survey``), hears the question and presses 1-5; the dialplan
sends ``CallCenterSurvey`` and this stores the score as the call's CSAT rating. The
call itself is over by then (the engine forgot it), so the rating is tied to the
interaction by its id alone; a rating of an unknown interaction, one no agent answered,
or a second one is dropped.
"""

from __future__ import annotations

import logging

from callcenter.ami.link import AmiEvent
from callcenter.voice.base import VoiceDeps

log = logging.getLogger(__name__)

SCORES = frozenset("12345")


class Survey:
    def __init__(self, deps: VoiceDeps) -> None:
        self.deps = deps

    async def on_answer(self, event: AmiEvent) -> None:
        task_id, score = event.get("Task") or "", event.get("Score") or ""
        if score not in SCORES or not task_id:
            log.warning("voice.survey_ignored", extra={"task": task_id, "score": score})
            return
        store = self.deps.store
        record = await store.get_interaction(task_id)
        if record is None or record.channel != "voice" or record.agent_id is None:
            log.warning("voice.survey_ignored", extra={"task": task_id, "why": "not answered"})
            return
        rating = await store.record_csat(task_id, int(score), source="voice_survey",
                                         at=self.deps.clock())
        log.info("voice.survey_rated", extra={"task": task_id, "score": int(score),
                                              "agent": record.agent_id,
                                              "stored": rating is not None})
