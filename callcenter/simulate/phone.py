"""SIP phones (pyVoIP) that play callers and agents in simulations and tests.

pyVoIP is threaded, not asyncio: callers of this module run it in threads.
Two things about pyVoIP 1.6.8 are fixed here rather than worked around in
every test:

* Its Call-IDs (and INVITE branches) are a sha256 of a per-process counter, so
  the first call of every new process repeats the last process's identifiers
  and Asterisk answers "400 Retransmission with different CSeq". We make them
  from uuid4.
* Its ACK to a 200 OK carries a fresh random To-tag instead of the answer's,
  so Asterisk never matches it to the dialog: it keeps re-sending the 200 OK
  and never sends its BYE. We build the ACK from the answer's tags and Contact.
* It starts a call's RTP threads again on every re-INVITE (even after the call
  stopped them), leaking non-daemon threads that keep a process from exiting.
* It ignores an incoming CANCEL, so a phone whose caller gave up would ring
  for ever; a CANCEL ends the ringing call here.
* It cannot parse an OPTIONS, so Asterisk's qualify would find every test phone
  unreachable; it answers 200 OK here.
* ``write_audio`` takes 8-bit unsigned PCM at 8 kHz; tone helpers produce it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyVoIP.VoIP  # must load before pyVoIP.SIP, which imports it cyclically
from pyVoIP.VoIP import CallState, PhoneStatus, VoIPCall, VoIPPhone

SIP = pyVoIP.SIP
RTP = pyVoIP.RTP

SAMPLE_RATE = 8000
FRAME = 160  # 20 ms of 8 kHz audio
log = logging.getLogger(__name__)


def _unique_call_id(self: SIP.SIPClient) -> str:
    self._last_unique_call_id = f"{uuid.uuid4().hex}@{self.myIP}:{self.myPort}"
    return self._last_unique_call_id


def _last_unique_call_id(self: SIP.SIPClient) -> str:
    return getattr(self, "_last_unique_call_id", None) or _unique_call_id(self)


def _ack_for_answer(self: SIP.SIPClient, response: SIP.SIPMessage) -> str:
    """RFC 3261 13.2.2.4: the ACK of a 2xx is sent in the dialog the answer set up."""
    to, sender = response.headers["To"], response.headers["From"]
    contact = response.headers.get("Contact") or to["raw"]
    target = contact.split(";")[0].strip().strip("<>")
    return (
        f"ACK {target} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {self.myIP}:{self.myPort};branch=z9hG4bK{uuid.uuid4().hex[:24]}"
        ";rport\r\n"
        "Max-Forwards: 70\r\n"
        f"To: {to['raw']};tag={to['tag']}\r\n"
        f"From: {sender['raw']};tag={sender['tag']}\r\n"
        f"Call-ID: {response.headers['Call-ID']}\r\n"
        f"CSeq: {response.headers['CSeq']['check']} ACK\r\n"
        "Content-Length: 0\r\n\r\n"
    )


_write_received = RTP.RTPPacketManager.write


def _write_and_tap(self: RTP.RTPPacketManager, offset: int, data: bytes) -> None:
    tap = getattr(self, "_cc_tap", None)
    if tap is not None:
        tap.append(data)
    _write_received(self, offset, data)


RTP.RTPPacketManager.write = _write_and_tap  # type: ignore[method-assign]
_start_rtp = RTP.RTPClient.start


def _start_rtp_once(self: RTP.RTPClient) -> None:
    """pyVoIP starts a call's RTP again on every re-INVITE, even after it stopped."""
    if getattr(self, "_cc_started", False):
        return
    self._cc_started = True
    _start_rtp(self)


RTP.RTPClient.start = _start_rtp_once  # type: ignore[method-assign]
_parse_message = SIP.SIPClient.parse_message


def _answer_options(self: SIP.SIPClient, message: SIP.SIPMessage) -> None:
    """An OPTIONS (Asterisk qualifying the contact) gets 200 OK, as from any real phone."""
    if message.type == SIP.SIPMessageType.MESSAGE and message.method == "OPTIONS":
        if getattr(self, "cc_unplugged", False):
            return  # gone without unregistering: nothing answers
        address, port = message.headers["Via"][0]["address"]
        self.out.sendto(self.gen_ok(message).encode("utf8"), (address, int(port)))
        return
    _parse_message(self, message)


if "OPTIONS" not in pyVoIP.SIPCompatibleMethods:  # else pyVoIP drops it unparsed
    pyVoIP.SIPCompatibleMethods.append("OPTIONS")
SIP.SIPClient.parse_message = _answer_options  # type: ignore[method-assign]
SIP.SIPClient.gen_ack = _ack_for_answer  # type: ignore[method-assign]
SIP.SIPClient.gen_call_id = _unique_call_id  # type: ignore[method-assign]
SIP.SIPClient.gen_last_call_id = _last_unique_call_id  # type: ignore[method-assign]

DTMF_FREQUENCIES = {
    "1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "A": (697, 1633),
    "4": (770, 1209), "5": (770, 1336), "6": (770, 1477), "B": (770, 1633),
    "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "C": (852, 1633),
    "*": (941, 1209), "0": (941, 1336), "#": (941, 1477), "D": (941, 1633),
}


def to_unsigned8(samples: np.ndarray) -> bytes:
    """Float samples in [-1, 1] to pyVoIP's 8-bit unsigned PCM."""
    return np.clip(samples * 127 + 128, 0, 255).astype(np.uint8).tobytes()


def tone(frequency: float, seconds: float, amplitude: float = 0.5) -> bytes:
    t = np.arange(int(SAMPLE_RATE * seconds)) / SAMPLE_RATE
    return to_unsigned8(amplitude * np.sin(2 * np.pi * frequency * t))


def silence(seconds: float) -> bytes:
    return bytes([128]) * int(SAMPLE_RATE * seconds)


def dtmf(digits: str, on: float = 0.12, off: float = 0.10, amplitude: float = 0.35) -> bytes:
    """In-band DTMF that Asterisk's Read() decodes on a dtmf_mode=inband endpoint."""
    t = np.arange(int(SAMPLE_RATE * on)) / SAMPLE_RATE
    out = bytearray()
    for digit in digits:
        low, high = DTMF_FREQUENCIES[digit.upper()]
        pair = np.sin(2 * np.pi * low * t) + np.sin(2 * np.pi * high * t)
        out += to_unsigned8(amplitude * pair)
        out += silence(off)
    return bytes(out)


def energy(audio: bytes) -> float:
    """RMS of 8-bit unsigned audio, 0 for silence, about 0.35 for a 0.5 tone."""
    if not audio:
        return 0.0
    samples = (np.frombuffer(audio, dtype=np.uint8).astype(np.float32) - 128) / 128
    return float(np.sqrt(np.mean(samples**2)))


@dataclass
class Call:
    """One call on a phone; collects what it hears so tests can measure it."""

    voip: VoIPCall
    heard: bytearray = field(default_factory=bytearray)
    _listening: bool = False

    @property
    def state(self) -> CallState:
        return self.voip.state

    def wait_state(self, state: CallState, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.voip.state == state:
                return True
            if self.voip.state == CallState.ENDED:
                return state == CallState.ENDED
            time.sleep(0.02)
        return self.voip.state == state

    def play(self, audio: bytes, realtime: bool = True) -> None:
        """Send audio at the pace a real phone would."""
        for start in range(0, len(audio), FRAME):
            if self.voip.state != CallState.ANSWERED:
                return
            self.voip.write_audio(audio[start:start + FRAME])
            if realtime:
                time.sleep(FRAME / SAMPLE_RATE)

    def listen(self, seconds: float) -> bytes:
        """What the far end sends from now on, for a while, in arrival order.

        pyVoIP files received audio by RTP timestamp; when Asterisk bridges a call
        the timestamps restart elsewhere, so reading by position can miss the
        present. A tap on the receive path hears exactly what arrives.
        """
        taps = [client.pmin for client in self.voip.RTPClients]
        for manager in taps:
            manager._cc_tap = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.voip.state == CallState.ANSWERED:
            time.sleep(FRAME / SAMPLE_RATE)
        got = b"".join(b"".join(manager.__dict__.pop("_cc_tap", [])) for manager in taps)
        self.heard += got
        return got

    def busy(self) -> None:
        """Refuse a ringing call with ``486 Busy Here`` (pyVoIP's ``deny`` sends it, then
        fails stopping RTP it never started)."""
        voip = self.voip
        if voip.state != CallState.RINGING:
            return
        message = voip.sip.gen_busy(voip.request)
        voip.sip.out.sendto(message.encode("utf8"), (voip.phone.server, voip.phone.port))
        voip.state = CallState.ENDED
        voip.phone.calls.pop(voip.request.headers["Call-ID"], None)

    def hangup(self) -> None:
        if self.voip.state in (CallState.ANSWERED, CallState.DIALING, CallState.RINGING):
            try:
                self.voip.hangup()
            except Exception:
                log.debug("hangup of an ended call", exc_info=True)


class Phone:
    """A registered SIP phone; optionally answers incoming calls by itself.

    ``trunk=True``: a line of the carrier instead (no registration; Asterisk knows it by
    its address): its calls arrive with ``username`` as the caller's number, and it gets
    what Asterisk sends the carrier, such as callbacks."""

    def __init__(self, *, server: str, port: int, username: str, password: str,
                 my_ip: str = "127.0.0.1", sip_port: int, rtp_low: int, rtp_high: int,
                 auto_answer: bool = False, answer_delay: float = 0.0,
                 on_incoming: Callable[[Call], None] | None = None,
                 trunk: bool = False) -> None:
        self.username = username
        self.auto_answer = auto_answer
        self.answer_delay = answer_delay
        self.on_incoming = on_incoming
        self.incoming: list[Call] = []
        self.outgoing: list[Call] = []
        self.received: list[bytes] = []  # every SIP request and final answer, as it came
        self.ringing = threading.Event()
        self._phone = VoIPPhone(server, port, username, password, myIP=my_ip,
                                callCallback=self._incoming, sipPort=sip_port,
                                rtpPortLow=rtp_low, rtpPortHigh=rtp_high)
        self._deliver = self._phone.sip.callCallback
        self._phone.sip.callCallback = self._sip_message
        if trunk:  # pyVoIP always registers: a trunk's line counts as registered at once
            def registered() -> bool:
                self._phone._status = PhoneStatus.REGISTERED
                return True

            self._phone.sip.register = registered
            self._phone.sip.deregister = lambda: True

    def _sip_message(self, message: SIP.SIPMessage) -> None:
        """pyVoIP ignores CANCEL: a caller giving up would leave the phone ringing forever."""
        self.received.append(message.raw)
        if message.type == SIP.SIPMessageType.MESSAGE and message.method == "CANCEL":
            voip = self._phone.calls.pop(message.headers["Call-ID"], None)
            if voip is not None and voip.state == CallState.RINGING:
                voip.state = CallState.ENDED
            return
        self._deliver(message)

    def _incoming(self, voip: VoIPCall) -> None:
        call = Call(voip)
        self.incoming.append(call)
        self.ringing.set()
        if self.auto_answer:
            if self.answer_delay:
                time.sleep(self.answer_delay)
            if voip.state == CallState.RINGING:
                voip.answer()
        if self.on_incoming:
            self.on_incoming(call)

    def start(self, timeout: float = 10.0) -> None:
        self._phone.start()
        deadline = time.monotonic() + timeout
        while self._phone.get_status() != PhoneStatus.REGISTERED:
            if time.monotonic() > deadline:
                raise TimeoutError(f"phone {self.username} did not register")
            time.sleep(0.05)

    def call(self, number: str) -> Call:
        call = Call(self._phone.call(number))
        self.outgoing.append(call)
        return call

    def unplug(self) -> None:
        """Stop answering Asterisk's OPTIONS, as a phone that vanished (unplugged, out of
        Wi-Fi) without unregistering: its registration stays, its contact goes
        unreachable."""
        self._phone.sip.cc_unplugged = True

    def stop(self) -> None:
        """Unregister, and stop every call's RTP threads (pyVoIP leaves some running,
        e.g. after a BYE or CANCEL it did not expect, and they keep a process alive)."""
        self._phone.stop()
        for call in self.incoming + self.outgoing:
            for client in call.voip.RTPClients:
                if getattr(client, "_cc_started", False) and client.NSD:  # running
                    client.stop()
