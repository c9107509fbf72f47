"""The chat section of callcenter.yaml (and canned replies in queues.yaml): mistakes are
refused with file, line and column; what is not built is an unknown key; the WeChat
section maps onto the adapter's own stricter config."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from callcenter.config import ConfigError, load_config
from chatbridge.plugin import wechat_config
from tests.support.webstack import SAMPLES

KEY = "k" * 43


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(SAMPLES, target)
    return target


def edit(directory: Path, filename: str, old: str, new: str) -> int:
    """Replace ``old`` (once) by ``new``; the 1-based line where it was."""
    path = directory / filename
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} in {filename}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[:text.index(old)].count("\n") + 1


def only_error(directory: Path, filename: str = "callcenter.yaml"):
    with pytest.raises(ConfigError) as info:
        load_config(directory, env={})
    [issue] = [i for i in info.value.issues if i.severity == "error"]
    assert issue.filename.endswith(filename), str(issue)
    return issue


WECHAT_ON = ("    enabled: false         # WeChat's callback URL",
             "    enabled: true          # WeChat's callback URL")


@pytest.mark.parametrize(("old", "new", "path", "words"), [
    ("    require_contact: false", "    require_contact: false\n    video_calls: true",
     "chat.web.video_calls", "unknown key 'video_calls'"),
    ("      sender: noreply@localhost", "      sender: not-an-address",
     "chat.web.transcript_email.sender", "not an e-mail address"),
    ("      per_conversation: 3", "      per_conversation: 0",
     "chat.web.transcript_email.per_conversation", "must be at least 1"),
    ("queue: sales}\n      - {id: help", "queue: salse}\n      - {id: help",
     "chat.web.topics[0].queue", "queue 'salse' does not exist; chat queues: sales, support"),
    ("queue: sales}\n      - {id: help", "queue: vip}\n      - {id: help",
     "chat.web.topics[0].queue", "queue 'vip' takes no chats"),
    ("    allowed_origins: []", '    allowed_origins: ["https://shop.example.com/buy"]',
     "chat.web.allowed_origins[0]", "is not an origin"),
    ("      messages_per_minute: 30", "      messages_per_minute: 0",
     "chat.web.limits.messages_per_minute", "must be at least 1"),
    ("image/webp, application/pdf", "image/webp, pdf",
     "chat.web.uploads.types[4]", "is not a media type"),
])
def test_mistakes_in_the_web_widget_section(config_dir, old, new, path, words):
    line = edit(config_dir, "callcenter.yaml", old, new)
    issue = only_error(config_dir)
    assert issue.path == path and words in issue.message, str(issue)
    assert issue.line == line + (1 if old.startswith("    require_contact") else 0)


def test_enabled_without_topics_is_refused(config_dir):
    text = (config_dir / "callcenter.yaml").read_text(encoding="utf-8")
    start, end = text.index("    topics:"), text.index("    require_contact:")
    (config_dir / "callcenter.yaml").write_text(text[:start] + "    topics: []\n" + text[end:],
                                                encoding="utf-8")
    issue = only_error(config_dir)
    assert issue.path == "chat.web" and "at least one topic" in issue.message


@pytest.mark.parametrize(("changes", "path", "words"), [
    ([('app_id: ""', 'app_id: "wx5823bf96d3bd56c7"'),
      ('"${CALLCENTER_WECHAT_APP_SECRET:-}"', "secret"),
      ('"${CALLCENTER_WECHAT_TOKEN:-}"', "token123")],
     "chat.wechat", "mode secure needs encoding_aes_key"),
    ([('"${CALLCENTER_WECHAT_TOKEN:-}"', "to"),
      ('"${CALLCENTER_WECHAT_AES_KEY:-}"', KEY)],
     "chat.wechat.token", "3-32 letters or digits"),
    ([('app_id: ""', 'app_id: "wx5823bf96d3bd56c7"'),
      ('"${CALLCENTER_WECHAT_APP_SECRET:-}"', "secret"),
      ('"${CALLCENTER_WECHAT_TOKEN:-}"', "token123"),
      ('"${CALLCENTER_WECHAT_AES_KEY:-}"', KEY),
      ("    queue: support         # where WeChat", "    queue: helpdesk        # where WeChat")],
     "chat.wechat.queue", "queue 'helpdesk' does not exist"),
    ([("    mode: secure ", "    mode: safe ")], "chat.wechat.mode", "'safe'"),
])
def test_mistakes_in_the_wechat_section(config_dir, changes, path, words):
    edit(config_dir, "callcenter.yaml", *WECHAT_ON)
    for old, new in changes:
        edit(config_dir, "callcenter.yaml", old, new)
    issue = only_error(config_dir)
    assert issue.path == path and words in issue.message, str(issue)


def test_the_wechat_section_maps_onto_the_adapters_config(config_dir):
    edit(config_dir, "callcenter.yaml", *WECHAT_ON)
    for old, new in (('app_id: ""', 'app_id: "wx5823bf96d3bd56c7"'),
                     ('"${CALLCENTER_WECHAT_APP_SECRET:-}"', "s3cret"),
                     ('"${CALLCENTER_WECHAT_TOKEN:-}"', "token123"),
                     ('"${CALLCENTER_WECHAT_AES_KEY:-}"', KEY)):
        edit(config_dir, "callcenter.yaml", old, new)
    section = load_config(config_dir, env={}).config.callcenter.chat.wechat
    adapter = wechat_config(section)
    assert (adapter.app_id, adapter.mode.value, adapter.api_base) == (
        "wx5823bf96d3bd56c7", "secure", "https://api.weixin.qq.com")
    assert adapter.token.get_secret_value() == "token123" and len(adapter.aes_key or b"") == 32
    assert "s3cret" not in repr(section) and "token123" not in repr(adapter)


def test_canned_replies_belong_to_chat_queues(config_dir):
    line = edit(config_dir, "queues.yaml", "    strategy: ring_all\n",
                "    strategy: ring_all\n    canned_replies: [{zh: 您好}]\n")
    issue = only_error(config_dir, "queues.yaml")
    assert (issue.path, issue.line) == ("queues.vip.canned_replies", line + 1)
    assert "this queue takes no chats" in issue.message
