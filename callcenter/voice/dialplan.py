"""The contract with the dialplan (``asterisk/conf/extensions.conf``), named once.

Every channel variable, context and UserEvent that the engine and the dialplan
share is here; nothing else in the code base spells them. A test checks that
each name below appears in ``extensions.conf`` and that the dialplan uses no
``CC_`` variable, ``cc-`` context or ``CallCenter`` event missing from here.
"""

from __future__ import annotations

# ---- contexts ------------------------------------------------------------------
HOLD = "cc-hold"  # waiting for an agent: music, position announcements
OFFER = "cc-offer"  # the caller's channel dials the agent (CC_DIAL)
AGENT_RING = "cc-agent-ring"  # pre-dial handler on the agent's leg
AGENT_ANSWER = "cc-agent-answer"  # pre-bridge handler: waits for the engine's verdict
END = "cc-end"  # the conversation is over: the caller's call ends (or the survey)
SURVEY = "cc-survey"  # the agent hung up: the caller rates the call with a key 1-5
EXIT = "cc-exit"  # leaving the queue without an agent
SPY = "cc-spy"  # a supervisor's ChanSpy
CALLBACK = "cc-callback"  # the agent answered a callback: dial the customer
CALLBACK_ANSWER = "cc-callback-answer"  # on the customer's channel once they answer
VOICEMAIL = "cc-voicemail"  # the caller leaves a message (Record)
IVR = "cc-ivr"  # the IVR over FastAGI, or standby while the engine is away
INTERNAL = "cc-internal"  # agents' own phones (pjsip.conf's cc-phone template)

# ---- variables the IVR sets on the caller's channel (AGI SET VARIABLE) -----------
ROUTE = "CC_ROUTE"  # "queue", "voicemail", "exit" or "hangup"; set last (a half-done IVR:
# none)
TASK = "CC_TASK"  # the interaction id, on the caller's channel only
LEG_TASK = "CC_LEG_TASK"  # the same id, inherited by the agent's leg
QUEUE = "CC_QUEUE"
ANNOUNCE = "CC_ANNOUNCE"
ANNOUNCE_INTERVAL = "CC_ANNOUNCE_INTERVAL"
CALLBACK_ENABLED = "CC_CALLBACK"
RING_LABEL = "CC_RING_LABEL"  # what the agent's phone shows, inherited by the agent's leg
RING_SECONDS = "CC_RING_SECONDS"
EXIT_REASON = "CC_EXIT_REASON"
ARRIVED = "CC_ARRIVED"  # epoch (ms) the call reached the dialplan
STANDBY = "CC_STANDBY"  # = CC_ARRIVED once the caller had to wait for an absent engine
AUTO_ANSWER = "CC_AUTO_ANSWER"  # "yes" on an agent's phone channel: answer offers hands free
SURVEY_ENABLED = "CC_SURVEY"  # "yes": ask for a rating when the agent hangs up
SOUND_SURVEY_ASK = "CC_SND_SURVEY_ASK"  # the survey's question, in the caller's language
SOUND_SURVEY_THANKS = "CC_SND_SURVEY_THANKS"
SURVEY_SCORE = "CC_SURVEY_SCORE"  # the key the caller pressed (the dialplan's own)

# ---- variables the engine sets over AMI ----------------------------------------------
POSITION = "CC_POSITION"  # the caller's place as the suffix of SOUND_POSITION's files;
# "0": not said (announce.position off)
EWT_MINUTES = "CC_EWT_MINUTES"  # likewise for SOUND_WAIT; "0": no wait to say
DIAL = "CC_DIAL"  # the agent device(s) the caller's channel dials in cc-offer
CONNECTED = "CC_CONNECTED"  # on the caller: the bridge that follows is the conversation
VERDICT = "CC_VERDICT"  # on the agent's answered leg: "accept" or "refuse"
RECORD = "CC_RECORD"  # on the agent's leg, before an accept: record to this path (no .wav)
RECORD_LEGS = "CC_RECORD_LEGS"  # "yes": one file per direction as well
SPY_TARGET = "CC_SPY_TARGET"
SPY_OPTIONS = "CC_SPY_OPTIONS"
CALLBACK_DIAL = "CC_CALLBACK_DIAL"
CALLBACK_RING = "CC_CALLBACK_RING"  # seconds the customer's phone rings per attempt
CALLBACK_KEY = "CC_CALLBACK_KEY"  # the key a waiting caller presses for a callback
# what the holding loop plays, in the caller's language (phrases.py): sound files
SOUND_CALLBACK_OFFER = "CC_SND_CB_OFFER"
SOUND_CALLBACK_CONFIRM = "CC_SND_CB_CONFIRM"
SOUND_CALLBACK_CHOOSE = "CC_SND_CB_CHOOSE"
SOUND_CALLBACK_ENTER = "CC_SND_CB_ENTER"
SOUND_CALLBACK_THANKS = "CC_SND_CB_THANKS"
SOUND_HOLD = "CC_SND_HOLD"  # "thank you for holding"
SOUND_POSITION = "CC_SND_POSITION"  # a family of files: <this>-<CC_POSITION>
SOUND_WAIT = "CC_SND_WAIT"  # a family of files: <this>-<CC_EWT_MINUTES>
SOUND_EXIT = "CC_SND_EXIT"  # leaving the queue without an agent (cc-exit)
SOUND_MESSAGE = "CC_SND_MESSAGE"  # "leave a message after the tone"
SOUND_MESSAGE_THANKS = "CC_SND_MESSAGE_THANKS"
MESSAGE = "CC_MESSAGE"  # the voice message's interaction id (cc-voicemail)
MESSAGE_FILE = "CC_MESSAGE_FILE"  # where Record() writes it (Asterisk's view, no .wav)
SOUND_DIGIT = "CC_SND_DIGIT"  # a family of files: <this>-0 .. <this>-9
DIGIT_AT = "CC_DIGIT_AT"  # the dialplan's own counter while it says a number
CALLBACK_NUMBER = "CC_CB_NUMBER"  # the number the caller confirmed or keyed in
CALLBACK_CHOICE = "CC_CB_CHOICE"  # 1: that number; 2: another one
OFFER_ID = "CC_OFFER"  # on a callback's agent leg (Originate)

# ---- UserEvents the dialplan sends ---------------------------------------------------
EV_WAITING = "CallCenterWaiting"  # the caller is on hold (again): it can be offered
EV_ANSWER = "CallCenterAnswer"  # an agent answered: Task, Endpoint; waits for VERDICT
EV_CALLBACK = "CallCenterCallback"  # the caller asked to be called back (Number: ...)
EV_CALLBACK_ANSWERED = "CallCenterCallbackAnswered"  # the customer answered a callback
EV_CALLBACK_RESULT = "CallCenterCallbackResult"  # a callback's Dial is over (Status: ...)
EV_MESSAGE = "CallCenterMessage"  # a voice message is over (recorded or not): Message
EV_STANDBY = "CallCenterStandby"  # a caller waits for an engine that was not there
EV_SURVEY = "CallCenterSurvey"  # the caller rated the call (Task, Score: 1-5)

VERDICT_ACCEPT = "accept"
VERDICT_REFUSE = "refuse"

# ---- what a channel is doing (CoreShowChannels' Application) -----------------------
DIALING_APPLICATIONS = frozenset({"Dial"})
STANDBY_APPLICATIONS = frozenset({"MusicOnHold"})  # cc-ivr's standby, between tries

# ---- call controls from the agent's console (controls.py) ----------------------------
HELD = "cc-held"  # the caller on hold: music on hold until resumed
AGENT_HELD = "cc-agent-held"  # the agent's leg while its caller is on hold: silence
RESUME = "cc-resume"  # the caller's channel takes the agent's leg back (Bridge, x)
TRANSFER_OUT = "cc-transfer-out"  # blind transfer to a number through the trunk
PEER = "CC_PEER"  # on the caller before a resume: the agent's leg (uniqueid) to bridge
TRANSFER_DIAL = "CC_TRANSFER_DIAL"  # on the caller before cc-transfer-out: whom to dial
CONSULT = "cc-consult"  # the agent's leg dials a colleague or a number; the caller on hold
CONFERENCE = "cc-conference"  # caller, agent and the party consulted: one ConfBridge
CONSULT_DIAL = "CC_CONSULT_DIAL"  # on the agent's leg before cc-consult: whom to dial
CONSULT_DONE = "CC_CONSULT_DONE"  # "yes" on the agent's leg: the transfer is complete
CONFERENCE_ROOM = "CC_CONFERENCE"  # the conference's name (the task id), inherited
MUTE = "MUTEAUDIO(in)"  # res_mutestream, set on the agent's leg: what the agent says is dropped

# ---- dial-out: an agent calls a number through the trunk (dialout.py) -----------------
DIALOUT = "cc-dialout"  # the agent's phone answered: dial the number with our caller ID
DIALOUT_ANSWER = "cc-dialout-answer"  # on the customer's channel once they answer
DIALOUT_DIAL = "CC_DIALOUT_DIAL"  # the trunk dial string of the number
DIALOUT_CID = "CC_DIALOUT_CID"  # the caller ID the customer sees (outbound_caller_id)
DIALOUT_RING = "CC_DIALOUT_RING"  # seconds the number rings
EV_DIALOUT_ANSWERED = "CallCenterDialoutAnswered"  # the number answered (Task)
EV_DIALOUT_RESULT = "CallCenterDialoutResult"  # the Dial is over (Task, Status: DIALSTATUS)
