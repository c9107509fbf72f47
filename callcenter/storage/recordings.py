"""Recordings of calls and what is made from them: transcript segments and summaries.

A transcript segment belongs to an interaction and, when it came from a recording, to
that recording too (the two must agree). Summaries are per interaction, call or chat;
the latest one is what agents see.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any, Final

from .database import Database, _first, _now
from .errors import NotFound
from .models import Recording, Summary, TranscriptSegment

__all__ = ["RECORDING_LEGS", "RecordingRecords"]

RECORDING_LEGS: Final = frozenset({"mixed", "caller", "agent"})

_RECORDING_COLUMNS: Final = frozenset(
    {"path", "leg", "started_at", "ended_at", "duration", "size", "status"}
)


def _recording(row: sqlite3.Row) -> Recording:
    return Recording(
        id=row["id"], interaction_id=row["interaction_id"], path=row["path"], leg=row["leg"],
        started_at=row["started_at"], ended_at=row["ended_at"], duration=row["duration"],
        size=row["size"], status=row["status"], created_at=row["created_at"],
    )  # fmt: skip


def _segment(row: sqlite3.Row) -> TranscriptSegment:
    return TranscriptSegment(
        id=row["id"], interaction_id=row["interaction_id"], recording_id=row["recording_id"],
        speaker=row["speaker"], leg=row["leg"], start=row["start_offset"],
        end=row["end_offset"], text=row["text"], engine=row["engine"],
        confidence=row["confidence"], created_at=row["created_at"],
    )  # fmt: skip


def _summary(row: sqlite3.Row) -> Summary:
    return Summary(
        id=row["id"], interaction_id=row["interaction_id"], text=row["text"],
        engine=row["engine"], created_at=row["created_at"],
    )  # fmt: skip


def _check_leg(leg: str) -> None:
    if leg not in RECORDING_LEGS:
        raise ValueError(f"leg must be one of {sorted(RECORDING_LEGS)}")


class RecordingRecords(Database):
    """Register recordings; store and list transcript segments and summaries."""

    # ------------------------------------------------------------------ recordings

    async def add_recording(
        self,
        interaction_id: str,
        path: str,
        *,
        leg: str = "mixed",
        started_at: float | None = None,
        ended_at: float | None = None,
        duration: float | None = None,
        size: int | None = None,
        status: str = "recording",
        created_at: float | None = None,
    ) -> Recording:
        """Register a recording file (``created_at`` defaults to now)."""
        _check_leg(leg)
        row = await self._insert_returning(
            "INSERT INTO recordings (interaction_id, path, leg, started_at, ended_at,"
            " duration, size, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " RETURNING *",
            (
                interaction_id,
                path,
                leg,
                started_at,
                ended_at,
                duration,
                size,
                status,
                _now(created_at),
            ),
        )
        return _recording(row)

    async def update_recording(self, recording_id: int, /, **fields: Any) -> Recording:
        """Set path, leg, started_at, ended_at, duration, size and/or status."""
        unknown = set(fields) - _RECORDING_COLUMNS
        if unknown:
            raise ValueError(f"not updatable recording fields: {sorted(unknown)}")
        if "leg" in fields:
            _check_leg(fields["leg"])
        async with self.transaction():
            if fields:
                await self._update("recordings", "id", recording_id, fields)
            recording = await self.get_recording(recording_id)
            if recording is None:
                raise NotFound(f"recording {recording_id}")
            return recording

    async def delete_recording(self, recording_id: int) -> None:
        """Forget a recording that never began (a dial-out nobody answered)."""
        await self._exec("DELETE FROM recordings WHERE id = ?", (recording_id,))

    async def get_recording(self, recording_id: int) -> Recording | None:
        row = await self._one("SELECT * FROM recordings WHERE id = ?", (recording_id,))
        return None if row is None else _recording(row)

    async def list_recordings(self, interaction_id: str) -> list[Recording]:
        rows = await self._all(
            "SELECT * FROM recordings WHERE interaction_id = ? ORDER BY id", (interaction_id,)
        )
        return [_recording(r) for r in rows]

    # ------------------------------------------------------------------ transcripts

    async def add_transcript_segments(
        self,
        segments: Iterable[Mapping[str, Any]],
        *,
        interaction_id: str | None = None,
        recording_id: int | None = None,
        engine: str | None = None,
        created_at: float | None = None,
    ) -> list[TranscriptSegment]:
        """Store many segments in one transaction.

        Each mapping has ``text``, ``start``, ``end`` and optionally ``speaker``, ``leg``,
        ``confidence``, and may override ``interaction_id``/``recording_id``/``engine``.
        The interaction is taken from the recording when only ``recording_id`` is known.
        """
        at = _now(created_at)
        out: list[TranscriptSegment] = []
        async with self.transaction():
            recording_owner: dict[int, str] = {}
            for seg in segments:
                rec_id = _first(seg.get("recording_id"), recording_id)
                inter_id = _first(seg.get("interaction_id"), interaction_id)
                if rec_id is not None:
                    if rec_id not in recording_owner:
                        row = await self._one(
                            "SELECT interaction_id FROM recordings WHERE id = ?", (rec_id,)
                        )
                        if row is None:
                            raise NotFound(f"recording {rec_id}")
                        recording_owner[rec_id] = row["interaction_id"]
                    if inter_id is None:
                        inter_id = recording_owner[rec_id]
                    elif inter_id != recording_owner[rec_id]:
                        raise ValueError(
                            f"recording {rec_id} belongs to {recording_owner[rec_id]}, "
                            f"not {inter_id}"
                        )
                if inter_id is None:
                    raise ValueError("a transcript segment needs an interaction or recording")
                stored = await self._insert_returning(
                    "INSERT INTO transcripts (interaction_id, recording_id, speaker, leg,"
                    " start_offset, end_offset, text, engine, confidence, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
                    (
                        inter_id,
                        rec_id,
                        seg.get("speaker"),
                        seg.get("leg"),
                        float(seg.get("start", 0.0)),
                        float(seg.get("end", 0.0)),
                        seg["text"],
                        _first(seg.get("engine"), engine),
                        seg.get("confidence"),
                        at,
                    ),
                )
                out.append(_segment(stored))
        return out

    async def add_transcript_segment(
        self,
        text: str,
        start: float,
        end: float,
        *,
        interaction_id: str | None = None,
        recording_id: int | None = None,
        speaker: str | None = None,
        leg: str | None = None,
        engine: str | None = None,
        confidence: float | None = None,
        created_at: float | None = None,
    ) -> TranscriptSegment:
        """Store one segment (see :meth:`add_transcript_segments`)."""
        seg = {"text": text, "start": start, "end": end, "speaker": speaker, "leg": leg,
               "confidence": confidence}  # fmt: skip
        (stored,) = await self.add_transcript_segments(
            [seg], interaction_id=interaction_id, recording_id=recording_id, engine=engine,
            created_at=created_at,
        )  # fmt: skip
        return stored

    async def list_transcript(
        self, interaction_id: str | None = None, *, recording_id: int | None = None
    ) -> list[TranscriptSegment]:
        """Segments of an interaction or of one recording, in time order."""
        if recording_id is not None:
            rows = await self._all(
                "SELECT * FROM transcripts WHERE recording_id = ? ORDER BY start_offset, id",
                (recording_id,),
            )
        elif interaction_id is not None:
            rows = await self._all(
                "SELECT * FROM transcripts WHERE interaction_id = ? ORDER BY start_offset, id",
                (interaction_id,),
            )
        else:
            raise ValueError("give interaction_id or recording_id")
        return [_segment(r) for r in rows]

    # ------------------------------------------------------------------ summaries

    async def add_summary(
        self,
        interaction_id: str,
        text: str,
        *,
        engine: str | None = None,
        created_at: float | None = None,
    ) -> Summary:
        """Store a summary (``created_at`` defaults to now); the latest one is shown."""
        row = await self._insert_returning(
            "INSERT INTO summaries (interaction_id, text, engine, created_at)"
            " VALUES (?, ?, ?, ?) RETURNING *",
            (interaction_id, text, engine, _now(created_at)),
        )
        return _summary(row)

    async def list_summaries(self, interaction_id: str) -> list[Summary]:
        rows = await self._all(
            "SELECT * FROM summaries WHERE interaction_id = ? ORDER BY created_at, id",
            (interaction_id,),
        )
        return [_summary(r) for r in rows]

    async def latest_summary(self, interaction_id: str) -> Summary | None:
        row = await self._one(
            "SELECT * FROM summaries WHERE interaction_id = ?"
            " ORDER BY created_at DESC, id DESC LIMIT 1",
            (interaction_id,),
        )
        return None if row is None else _summary(row)
