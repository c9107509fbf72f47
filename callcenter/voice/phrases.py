"""What the holding loop says to a caller, in the language they chose in the IVR.

Rendered with espeak-ng beside the IVR's own prompts (``ivr.prompts``); the dialplan
plays the files named in the caller's channel variables (``dialplan.SOUND_*``), so a
Mandarin caller hears Mandarin and an English caller English.
"""

from __future__ import annotations

from collections.abc import Iterator

from callcenter.config.models import Config
from ivr.prompts import VOICES, PromptText

KEY_NAMES = {"zh": {"*": "星号", "#": "井号"}, "en": {"*": "star", "#": "pound"}}

PHRASES: dict[str, dict[str, str]] = {
    "callback_offer": {"zh": "如果不想等待，请按{key}键，我们给您回电。",
                       "en": "To be called back instead of waiting, press {key}."},
    "callback_confirm": {"zh": "我们将回电到这个号码：", "en": "We will call you back at"},
    "callback_choose": {"zh": "号码正确请按1，换一个号码请按2。",
                        "en": "If that is right, press 1. For another number, press 2."},
    "callback_enter": {"zh": "请输入回电号码，以井号键结束。",
                       "en": "Key in the number to call, then press pound."},
    "callback_thanks": {"zh": "谢谢，我们会尽快给您回电。再见。",
                        "en": "Thank you. We will call you back soon. Goodbye."},
}


def phrase(name: str, language: str, *, key: str = "") -> PromptText:
    language = language if language in VOICES else "en"
    spoken = KEY_NAMES[language].get(key, key)
    return PromptText(language, PHRASES[name][language].format(key=spoken))


def phrases_in(config: Config) -> Iterator[PromptText]:
    """Every phrase any caller of these queues may hear, in every language."""
    keys = {q.callback.key for q in config.queues.values() if q.callback.enabled}
    for language in VOICES:
        for name in PHRASES:
            for key in (keys if name == "callback_offer" else {""}):
                yield phrase(name, language, key=key)


def sound_of(text: PromptText, prompts_dir: str) -> str:
    """What Asterisk plays for a rendered phrase (no extension)."""
    return f"{prompts_dir.rstrip('/')}/{text.stem}"
