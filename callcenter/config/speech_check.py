"""Cross-file checks of the speech settings: ``stt`` in callcenter.yaml and quality.yaml.

* a model folder that does not exist, and a language callers can choose in the IVR
  with no model at all, are warnings: the engine runs, and those calls are marked
  failed with the reason (``callcenter transcribe`` re-runs them once a model is set);
* a queue in quality.yaml that queues.yaml does not have is an error, like every
  other dangling reference.
"""

from __future__ import annotations

from typing import Any

from .issues import ConfigIssue
from .models import CallcenterConfig, IvrConfig, QualityConfig, QueuesConfig
from .source import Source
from .translate import allowed_list, did_you_mean

Checked = tuple[Source, Any] | None


def speech_checks(cc: Checked, ivr: Checked, queues: Checked,
                  quality: Checked) -> list[ConfigIssue]:
    out: list[ConfigIssue] = []
    if cc:
        out += _models(*cc, ivr[1] if ivr else None)
    if quality and queues:
        out += _quality_queues(quality[0], quality[1], queues[1])
    return out


def _models(src: Source, cc: CallcenterConfig, ivr: IvrConfig | None) -> list[ConfigIssue]:
    stt = cc.stt
    out = []
    for language, path in stt.models.items():
        if not path.is_dir():
            out.append(src.issue(
                ("stt", "models", language),
                f"{str(path)!r} is not a folder; calls in {language} will be marked failed "
                "until it is (then `callcenter transcribe` re-runs them)", "warning"))
    if ivr is not None and stt.enabled:
        for language in ivr.languages:
            if language not in stt.models:
                out.append(src.issue(
                    ("stt", "models") if ("stt", "models") in src.key_pos else ("stt",),
                    f"has no model for {language!r}, a language callers choose in the IVR: "
                    f"those calls will be marked failed (no speech model) until "
                    f"stt.models.{language} is set (then `callcenter transcribe` re-runs "
                    "them)", "warning", key=True))
    return out


def _quality_queues(src: Source, quality: QualityConfig,
                    queues: QueuesConfig) -> list[ConfigIssue]:
    ids = sorted(queues.queues)
    return [src.issue(("queues", name),
                      f"queue {name!r} does not exist; queues (in queues.yaml): "
                      f"{allowed_list(ids)}"
                      + did_you_mean(name, ids), key=True)
            for name in quality.queues if name not in queues.queues]
