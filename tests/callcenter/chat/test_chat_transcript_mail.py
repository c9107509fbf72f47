"""The widget's transcript by e-mail (chat.web.transcript_email), against a real SMTP
server on loopback: only to the address the customer gave, in UTF-8, a limited number of
times per chat, a clear answer when the relay is down or the feature is off."""

from __future__ import annotations

from tests.support.chat import Visitor, always_open, chat_with_agent, set_chat
from tests.support.smtp import SmtpServer


def mail_settings(port: int, *, enabled: bool = True):
    return set_chat(**{"transcript_email.enabled": enabled,
                       "transcript_email.smtp_port": port,
                       "transcript_email.sender": "kefu@xingchen.example",
                       "transcript_email.per_conversation": 2})


async def test_the_transcript_goes_to_the_address_the_visitor_gave(make_stack):
    async with SmtpServer() as smtp:
        stack = await make_stack(queues=always_open, callcenter=mail_settings(smtp.port))
        agent, visitor, conv = await chat_with_agent(stack, name="王先生",
                                                     email="wang.xs@example.cn")
        assert visitor.hellos[-1]["conversation"]["mail_to"] == "w****@example.cn"
        await visitor.say("发票抬头怎么写？")
        await agent.reply(conv["id"], "写公司全称即可。")
        await visitor.hear("写公司全称即可。")
        path = f"/api/widget/conversations/{visitor.conversation}/transcript/email"

        async with visitor.http.post(path, headers=visitor.auth) as response:
            assert response.status == 200, await response.text()
            assert (await response.json())["to"] == "w****@example.cn"
        [mail] = smtp.received
        assert mail.recipients == ["wang.xs@example.cn"]
        assert mail.message["From"] == "kefu@xingchen.example"
        assert mail.message["Subject"].startswith("会话记录")
        body = mail.message.get_content()
        assert "发票抬头怎么写？" in body and "张伟: 写公司全称即可。" in body

        async with visitor.http.post(path) as response:  # no token: nothing said
            assert response.status == 404
        await smtp.close()  # the relay goes away: a clear answer, and it counts
        async with visitor.http.post(path, headers=visitor.auth) as response:
            assert response.status == 503
            assert "could not be reached" in (await response.json())["message"]
        async with visitor.http.post(path, headers=visitor.auth) as response:
            assert response.status == 429 and response.headers["Retry-After"]
            assert "at most 2" in (await response.json())["message"]


async def test_an_address_someone_else_owns_and_no_address_at_all(make_stack):
    async with SmtpServer() as smtp:
        stack = await make_stack(queues=always_open, callcenter=mail_settings(smtp.port))
        await stack.customer("王先生", phone="13812345678")
        known = await stack.deps.store.find_customer("phone", "13812345678")
        await stack.deps.store.link_identity(known.id, "email", "wang.xs@example.cn")
        # a new browser gives the known customer's address: still theirs to receive
        claimed = await Visitor.open(stack)
        await claimed.start("buy", email="wang.xs@example.cn")
        await claimed.connect()
        async with claimed.http.post(
                f"/api/widget/conversations/{claimed.conversation}/transcript/email",
                headers=claimed.auth) as response:
            assert response.status == 200, await response.text()
        assert smtp.received[-1].recipients == ["wang.xs@example.cn"]

        anonymous = await Visitor.open(stack)
        await anonymous.start("buy", phone="13900001111")
        hello = await anonymous.connect()
        assert hello["conversation"]["mail_to"] is None  # the widget offers no e-mail
        async with anonymous.http.post(
                f"/api/widget/conversations/{anonymous.conversation}/transcript/email",
                headers=anonymous.auth) as response:
            assert response.status == 409
            assert "no e-mail address" in (await response.json())["message"]
        assert len(smtp.received) == 1


async def test_off_by_default(make_stack):
    stack = await make_stack(queues=always_open)
    visitor = await Visitor.open(stack)
    await visitor.start("buy", email="someone@example.cn")
    hello = await visitor.connect()
    assert hello["conversation"]["mail_to"] is None
    async with visitor.http.post(
            f"/api/widget/conversations/{visitor.conversation}/transcript/email",
            headers=visitor.auth) as response:
        assert response.status == 404
        assert "not enabled" in (await response.json())["message"]
