"""Decoding in worker processes, behind an asyncio-facing pool.

A recognizer keeps a CPU core busy for seconds per call, and the application's
event loop must never wait on it: :class:`DecodePool` runs
:func:`recordings.pipeline.decode_file` in N worker processes. Each worker owns
one process (started with ``spawn`` or ``forkserver``, never ``fork``: the app
process runs asyncio and threads, and a forked child inherits their locks in
whatever state they were) and loads each language's model once, lazily, or at
start with ``preload``.

Guarantees:

* back-pressure: at most ``queue_size`` jobs wait; ``submit`` waits when full;
* no job is silently lost: a job that fails (unreadable file, decoder error,
  worker crash, time-out) is retried up to ``max_attempts`` and then reported
  as a failed :class:`DecodeResult` with every attempt's reason;
* a dead worker is replaced; only the job it was running is charged an attempt;
* ``close()`` finishes (or, asked to, fails) what was queued, then stops the
  workers.

Each worker slot is served by one coroutine that hands jobs to its process
over a pipe; the blocking send/wait/start happens in a small thread pool, so
the event loop only awaits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import multiprocessing.connection as mpc
import os
import signal
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from recordings.masking import mask_for_log
from recordings.pipeline import AudioOptions, LegDecoding, decode_file
from recordings.recognizer import ModelConfig, get_recognizer

log = logging.getLogger(__name__)

__all__ = ["DecodeJob", "DecodePool", "DecodeResult", "PoolClosed", "PoolStats"]


class PoolClosed(RuntimeError):
    """The pool is closing or closed and takes no more jobs."""


@dataclass(frozen=True)
class DecodeJob:
    """One recording leg to decode. ``speaker`` is carried through for the caller."""

    path: str
    model: ModelConfig
    speaker: str | None = None
    options: AudioOptions = field(default_factory=AudioOptions)
    job_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])


@dataclass(frozen=True)
class DecodeResult:
    """The outcome of a job: ``decoding`` when ``ok``, else ``error`` (the last reason)
    and ``errors`` (one reason per failed attempt)."""

    job: DecodeJob
    ok: bool
    decoding: LegDecoding | None
    attempts: int
    error: str | None = None
    errors: tuple[str, ...] = ()
    worker_pid: int | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class PoolStats:
    workers: int
    busy: int
    queued: int
    submitted: int
    completed: int
    failed: int
    restarts: int


# --------------------------------------------------------------------------- worker side


def _worker_main(conn: mpc.Connection, preload: Sequence[ModelConfig], log_level: int) -> None:
    """Entry point of a worker process: load what is asked, then decode until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    logging.basicConfig(level=log_level)
    try:
        import vosk

        vosk.SetLogLevel(-1)
    except ImportError:  # another backend only
        pass
    try:
        for model in preload:
            get_recognizer(model.backend).load(model)
    except Exception as exc:
        conn.send(("fatal", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):  # parent gone
            return
        if job is None:
            return
        try:
            result: tuple[str, Any] = ("ok", decode_file(job.path, job.model,
                                                          options=job.options))
        except Exception as exc:
            result = ("error", f"{type(exc).__name__}: {exc}")
        conn.send(result)


# --------------------------------------------------------------------------- pool side


@dataclass
class _Slot:
    index: int
    process: Any = None
    conn: mpc.Connection | None = None
    pid: int | None = None
    busy: bool = False
    starts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class _Pending:
    job: DecodeJob
    future: asyncio.Future[DecodeResult]
    queued_at: float


class DecodePool:
    """N worker processes decoding recording legs; see the module docstring.

    ``job_timeout`` (seconds, per attempt) kills a worker that takes longer
    (a hung decoder) and counts as a failed attempt; ``None`` waits forever.
    """

    def __init__(self, workers: int = 1, *, queue_size: int = 16, max_attempts: int = 3,
                 retry_delay: float = 0.2, job_timeout: float | None = None,
                 start_method: str = "spawn", preload: Sequence[ModelConfig] = (),
                 start_timeout: float = 120.0, log_level: int = logging.WARNING) -> None:
        if workers < 1 or queue_size < 1 or max_attempts < 1:
            raise ValueError("workers, queue_size and max_attempts must be >= 1")
        if start_method == "fork":
            raise ValueError("the fork start method is unsafe in a threaded asyncio process: "
                             "use spawn or forkserver")
        self._ctx = multiprocessing.get_context(start_method)
        self._slots = [_Slot(i) for i in range(workers)]
        self._queue_size = queue_size
        self._max_attempts = max_attempts
        self._retry_delay = retry_delay
        self._job_timeout = job_timeout
        self._preload = tuple(preload)
        self._start_timeout = start_timeout
        self._log_level = log_level
        self._queue: asyncio.Queue[_Pending | None] | None = None
        self._threads: ThreadPoolExecutor | None = None
        self._dispatchers: list[asyncio.Task[None]] = []
        self._started = False
        self._closing = False
        self._closed: asyncio.Event | None = None
        self._putting = 0
        self._submitted = self._completed = self._failed = self._restarts = 0

    # ---- lifecycle
    async def start(self) -> None:
        """Start the worker processes (and load ``preload`` models) and wait until ready."""
        if self._started:
            return
        if self._closing:
            raise PoolClosed("pool is closed")
        self._started = True
        self._queue = asyncio.Queue(self._queue_size)
        self._threads = ThreadPoolExecutor(len(self._slots), thread_name_prefix="stt-pool")
        loop = asyncio.get_running_loop()
        starts = [loop.run_in_executor(self._threads, self._ensure_worker, s)
                  for s in self._slots]
        results = await asyncio.gather(*starts, return_exceptions=True)
        self._dispatchers = [asyncio.create_task(self._dispatch(s), name=f"stt-slot-{s.index}")
                             for s in self._slots]
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            await self.close()
            raise RuntimeError(f"speech workers failed to start: {errors[0]}") from errors[0]

    async def __aenter__(self) -> DecodePool:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close(cancel_pending=exc[0] is not None)

    async def close(self, *, cancel_pending: bool = False, timeout: float = 30.0) -> None:
        """Stop taking jobs; finish the queued ones (or fail them with ``cancel_pending``),
        then stop the workers (killed if they do not exit within ``timeout``)."""
        if self._closing:  # idempotent: a second close waits for the first
            if self._closed is not None:
                await self._closed.wait()
            return
        self._closing = True
        if not self._started:
            return
        self._closed = asyncio.Event()
        try:
            await self._shutdown(cancel_pending, timeout)
        finally:
            self._closed.set()

    async def _shutdown(self, cancel_pending: bool, timeout: float) -> None:
        assert self._queue is not None
        while self._putting:  # let blocked submitters in (or fail them)
            if cancel_pending:
                self._fail_queued("pool closed before the job ran")
            await asyncio.sleep(0.02)
        if cancel_pending:
            self._fail_queued("pool closed before the job ran")
        try:
            async with asyncio.timeout(timeout):
                for _ in self._dispatchers:
                    await self._queue.put(None)
                await asyncio.gather(*self._dispatchers, return_exceptions=True)
        except TimeoutError:
            log.warning("stt.close_timeout", extra={"seconds": timeout})
            for slot in self._slots:  # unblocks the threads waiting on them
                process = slot.process
                with contextlib.suppress(ValueError, AttributeError):
                    if process is not None and process.is_alive():
                        process.kill()
            for task in self._dispatchers:
                task.cancel()
            await asyncio.gather(*self._dispatchers, return_exceptions=True)
        self._fail_queued("pool closed before the job ran")
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self._threads, self._stop_worker, s)
                               for s in self._slots))
        assert self._threads is not None
        self._threads.shutdown(wait=False)
        self._started = False

    def _fail_queued(self, reason: str) -> None:
        assert self._queue is not None
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is None:
                continue
            self._failed += 1
            if not item.future.done():
                item.future.set_result(DecodeResult(item.job, False, None, 0, reason, (reason,)))

    # ---- submitting
    async def enqueue(self, job: DecodeJob) -> asyncio.Future[DecodeResult]:
        """Queue a job, waiting while the queue is full; returns the future of its result."""
        if self._closing:
            raise PoolClosed("pool is closed")
        if not self._started:
            await self.start()
        assert self._queue is not None
        future: asyncio.Future[DecodeResult] = asyncio.get_running_loop().create_future()
        self._putting += 1
        try:
            await self._queue.put(_Pending(job, future, time.perf_counter()))
        finally:
            self._putting -= 1
        self._submitted += 1
        return future

    async def submit(self, job: DecodeJob) -> DecodeResult:
        """Decode a job; waits for queue room, then for the result (which may be a failure)."""
        return await (await self.enqueue(job))

    # ---- introspection
    @property
    def stats(self) -> PoolStats:
        return PoolStats(len(self._slots), sum(s.busy for s in self._slots),
                         self._queue.qsize() if self._queue else 0, self._submitted,
                         self._completed, self._failed, self._restarts)

    def worker_pids(self) -> list[int]:
        return [s.pid for s in self._slots if s.pid is not None]

    # ---- the slot's coroutine
    async def _dispatch(self, slot: _Slot) -> None:
        assert self._queue is not None and self._threads is not None
        loop = asyncio.get_running_loop()
        while True:
            item = await self._queue.get()
            if item is None:
                return
            if item.future.done():  # submitter gave up
                continue
            slot.busy = True
            errors: list[str] = []
            pid: int | None = None
            try:
                for attempt in range(1, self._max_attempts + 1):
                    status, payload, pid = await loop.run_in_executor(
                        self._threads, self._exchange, slot, item.job)
                    if status == "ok":
                        self._finish(item, DecodeResult(item.job, True, payload, attempt,
                                                        None, tuple(errors), pid))
                        break
                    errors.append(str(payload))
                    log.warning("stt.attempt_failed", extra={
                        "job": item.job.job_id, "file": mask_for_log(
                            os.path.basename(item.job.path)),
                        "attempt": attempt, "reason": mask_for_log(str(payload))})
                    if attempt < self._max_attempts:
                        await asyncio.sleep(self._retry_delay * attempt)
                else:
                    self._finish(item, DecodeResult(item.job, False, None, self._max_attempts,
                                                    errors[-1], tuple(errors), pid))
            except asyncio.CancelledError:  # close() gave up waiting: answer, then stop
                reason = "pool closed while the job ran"
                self._finish(item, DecodeResult(item.job, False, None, len(errors) + 1,
                                                reason, (*errors, reason)))
                raise
            except Exception as exc:  # a bug here must still answer the submitter
                self._finish(item, DecodeResult(item.job, False, None, len(errors) + 1,
                                                f"pool error: {exc!r}", (*errors, repr(exc))))
            finally:
                slot.busy = False

    def _finish(self, item: _Pending, result: DecodeResult) -> None:
        seconds = round(time.perf_counter() - item.queued_at, 3)
        result = DecodeResult(result.job, result.ok, result.decoding, result.attempts,
                              result.error, result.errors, result.worker_pid, seconds)
        if result.ok:
            self._completed += 1
        else:
            self._failed += 1
            log.error("stt.job_failed", extra={
                "job": item.job.job_id, "file": mask_for_log(os.path.basename(item.job.path)),
                "attempts": result.attempts, "reason": mask_for_log(result.error or "")})
        if not item.future.done():
            item.future.set_result(result)

    # ---- blocking parts, run in the pool's threads
    def _ensure_worker(self, slot: _Slot) -> None:
        with slot.lock:
            if slot.process is not None and slot.process.is_alive():
                return
            self._reap(slot)
            if slot.starts:
                self._restarts += 1
            slot.starts += 1
            parent, child = self._ctx.Pipe()
            process = self._ctx.Process(target=_worker_main, name=f"stt-worker-{slot.index}",
                                        args=(child, self._preload, self._log_level),
                                        daemon=True)
            process.start()
            child.close()
            slot.process, slot.conn = process, parent
            ready = mpc.wait([parent, process.sentinel], self._start_timeout)
            reply: tuple[str, Any] | None = None
            if parent in ready:
                with contextlib.suppress(EOFError, OSError):
                    reply = parent.recv()
            if reply is None or reply[0] != "ready":
                if reply is not None:
                    reason = str(reply[1])
                elif not ready:
                    reason = f"no answer within {self._start_timeout:g}s"
                else:
                    process.join(1.0)
                    reason = f"exited with code {process.exitcode}"
                self._kill_locked(slot)
                raise RuntimeError(f"speech worker {slot.index} did not start: {reason}")
            slot.pid = int(reply[1])
        log.info("stt.worker_started", extra={"slot": slot.index, "pid": slot.pid})

    def _exchange(self, slot: _Slot, job: DecodeJob) -> tuple[str, Any, int | None]:
        """Send one job to the slot's process and wait for its answer, death or time-out."""
        try:
            self._ensure_worker(slot)
        except RuntimeError as exc:
            return "error", str(exc), None
        with slot.lock:
            process, conn, pid = slot.process, slot.conn, slot.pid
        if process is None or conn is None:
            return "crash", "worker stopped", pid
        try:
            conn.send(job)
            ready = mpc.wait([conn, process.sentinel], self._job_timeout)
            if conn in ready:
                with contextlib.suppress(EOFError, OSError):
                    status, payload = conn.recv()
                    return status, payload, pid
        except (OSError, ValueError) as exc:  # pipe broken, or closed by a shutdown
            self._kill(slot, process)
            return "crash", f"lost worker {pid}: {exc}", pid
        if not ready:
            self._kill(slot, process)
            return "timeout", f"worker {pid} timed out after {self._job_timeout}s", pid
        try:
            process.join(1.0)
            code = process.exitcode
        except ValueError:  # already reaped by a shutdown
            code = None
        self._kill(slot, process)
        how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        log.warning("stt.worker_died", extra={"slot": slot.index, "pid": pid, "how": how})
        return "crash", f"worker {pid} died ({how})", pid

    def _kill(self, slot: _Slot, process: Any = None) -> None:
        """Kill and reap the slot's process (only if it is still ``process``, when given)."""
        with slot.lock:
            if process is None or slot.process is process:
                self._kill_locked(slot)

    def _kill_locked(self, slot: _Slot) -> None:
        if slot.process is not None and slot.process.is_alive():
            slot.process.kill()
        self._reap(slot)

    def _reap(self, slot: _Slot) -> None:
        if slot.process is not None:
            slot.process.join(5.0)
            with contextlib.suppress(ValueError):
                slot.process.close()
        if slot.conn is not None:
            slot.conn.close()
        slot.process = slot.conn = None
        slot.pid = None

    def _stop_worker(self, slot: _Slot) -> None:
        with slot.lock:
            if slot.process is None:
                return
            if slot.conn is not None:
                with contextlib.suppress(OSError, ValueError):
                    slot.conn.send(None)
            slot.process.join(5.0)
            self._kill_locked(slot)
