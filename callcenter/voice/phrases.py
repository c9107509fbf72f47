"""What the dialplan says to a queued caller, in the language they chose in the IVR.

Rendered with espeak-ng beside the IVR's own prompts (``ivr.prompts``); the dialplan
plays the files named in the caller's channel variables (``dialplan.SOUND_*``), so a
Mandarin caller hears Mandarin and an English caller English: on hold, their position,
the expected wait, the callback offer and its questions, and the goodbye when they
leave the queue without an agent.

A number is spoken inside a whole sentence ("您现在排在第3位", "about 4 minutes"), not
glued from digit files: each counted phrase is a family of files ``<name>-1`` ...
``<name>-<SAY_MAX>`` and ``<name>-more``, and the engine sets the suffix to play
(``spoken_count``) when it tells the dialplan the caller's position and wait.
"""

from __future__ import annotations

import hashlib
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
    "message": {"zh": "请在提示音后留言，说完请按井号键或直接挂机。",
                "en": "Please leave a message after the tone. Press pound or hang up when "
                      "you are done."},
    "message_thanks": {"zh": "您的留言已收到，我们会尽快回复。再见。",
                       "en": "Thank you, we have your message and will get back to you. "
                             "Goodbye."},
    "hold": {"zh": "感谢您的耐心等待，座席正忙，请不要挂机。",
             "en": "Thank you for holding. All our agents are busy; please stay on the line."},
    "exit": {"zh": "很抱歉，现在无法为您接通，请稍后再拨。再见。",
             "en": "We are sorry, we cannot take your call now. Please call again later. "
                   "Goodbye."},
    # the survey after the agent hung up (callcenter.yaml reports.csat.voice_survey)
    "survey_ask": {"zh": "请为本次服务评分：非常满意请按5，满意请按4，一般请按3，"
                         "不满意请按2，非常不满意请按1。",
                   "en": "Please rate this call. Press 5 for very good, 4 for good, 3 for "
                         "fair, 2 for poor, or 1 for very poor."},
    "survey_thanks": {"zh": "感谢您的评价，再见。", "en": "Thank you for your rating. Goodbye."},
}

SAY_MAX = 20
"""Counts up to this are said as they are; above, the ``more`` sentence."""

COUNTED: dict[str, dict[str, dict[str, str]]] = {
    # the caller's place in line; 1 is the next to be served
    "position": {"zh": {"1": "您是下一位。", "n": "您现在排在第{n}位。",
                        "more": "您前面有超过{n}位客户，请耐心等待。"},
                 "en": {"1": "You are next in line.", "n": "You are caller number {n}.",
                        "more": "There are more than {n} callers ahead of you."}},
    # the expected wait in whole minutes (at least 1)
    "wait": {"zh": {"1": "预计等待时间约1分钟。", "n": "预计等待时间约{n}分钟。",
                    "more": "预计等待时间超过{n}分钟。"},
             "en": {"1": "Your expected wait is about one minute.",
                    "n": "Your expected wait is about {n} minutes.",
                    "more": "Your expected wait is more than {n} minutes."}},
}


def phrase(name: str, language: str, *, key: str = "") -> PromptText:
    language = language if language in VOICES else "en"
    spoken = KEY_NAMES[language].get(key, key)
    return PromptText(language, PHRASES[name][language].format(key=spoken))


DIGITS = {"zh": "零幺二三四五六七八九",  # 1 is 幺 in a phone number
          "en": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                 "nine")}


def digit_family(language: str) -> str:
    """The file name of the spoken digits without their suffix (0-9)."""
    language = language if language in VOICES else "en"
    digest = hashlib.sha1(f"{VOICES[language]}\0{list(DIGITS[language])}".encode())
    return f"{language}-digit-{digest.hexdigest()[:12]}"


def digits(language: str) -> Iterator[PromptText]:
    """Ten files, one digit each, for saying a phone number digit by digit."""
    language = language if language in VOICES else "en"
    family = digit_family(language)
    for n, word in enumerate(DIGITS[language]):
        yield PromptText(language, word, name=f"{family}-{n}")


def spoken_count(n: int) -> str:
    """The suffix of a counted phrase's file for ``n`` (>= 1)."""
    return str(n) if n <= SAY_MAX else "more"


def counted_family(name: str, language: str) -> str:
    """The file name of a counted phrase without its suffix: it changes with the texts,
    so an edited sentence is rendered again."""
    language = language if language in VOICES else "en"
    texts = COUNTED[name][language]
    digest = hashlib.sha1(f"{VOICES[language]}\0{SAY_MAX}\0{sorted(texts.items())}".encode())
    return f"{language}-{name}-{digest.hexdigest()[:12]}"


def counted(name: str, language: str) -> Iterator[PromptText]:
    """Every file of a counted phrase: 1 .. SAY_MAX, then ``more``."""
    language = language if language in VOICES else "en"
    texts = COUNTED[name][language]
    family = counted_family(name, language)
    for n in range(1, SAY_MAX + 1):
        text = texts["1"] if n == 1 else texts["n"].format(n=n)
        yield PromptText(language, text, name=f"{family}-{n}")
    yield PromptText(language, texts["more"].format(n=SAY_MAX), name=f"{family}-more")


def phrases_in(config: Config) -> Iterator[PromptText]:
    """Every phrase any caller of these queues may hear, in every language."""
    keys = {q.callback.key for q in config.queues.values() if q.callback.enabled}
    for language in VOICES:
        for name in PHRASES:
            for key in (keys if name == "callback_offer" else {""}):
                yield phrase(name, language, key=key)
        for name in COUNTED:
            yield from counted(name, language)
        yield from digits(language)


def sound_of(text: PromptText, prompts_dir: str) -> str:
    """What Asterisk plays for a rendered phrase (no extension)."""
    return f"{prompts_dir.rstrip('/')}/{text.stem}"
