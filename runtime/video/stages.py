"""Decode, SR and encode running at once: three threads joined by bounded queues.

PyAV's decoders and encoders and the ONNX Runtime / OpenVINO calls release the GIL, so the stages overlap
on a multi-core CPU; the bounded queues keep memory flat on a video of any length (at most ``depth`` frames
wait between two stages). The first error in any stage stops the others and is raised in the caller.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

_END = object()


@dataclass
class StageTimes:
    """Seconds each stage spent working, and how long the encoder waited for SR output."""

    decode: float = 0.0
    sr: float = 0.0
    encode: float = 0.0
    waiting: float = 0.0
    frames: int = 0
    wall: float = 0.0

    def per_frame_ms(self) -> dict[str, float]:
        """Mean milliseconds per frame of each stage (``waiting``: the encoder idle for SR)."""
        n = max(self.frames, 1)
        return {k: 1e3 * getattr(self, k) / n for k in ("decode", "sr", "encode", "waiting")}

    @property
    def fps(self) -> float:
        """Frames per wall-clock second, all stages together."""
        return self.frames / self.wall if self.wall > 0 else 0.0


class _Stop(Exception):
    """Another stage failed or the consumer stopped: leave quietly."""


def _put(q: queue.Queue, item: Any, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return
        except queue.Full:
            continue
    raise _Stop


def _get(q: queue.Queue, stop: threading.Event) -> Any:
    while not stop.is_set():
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            continue
    raise _Stop


def _producer(items: Iterable[Any], out: queue.Queue, stop: threading.Event, times: StageTimes,
              errors: list[BaseException]) -> None:
    try:
        iterator = iter(items)
        while True:
            start = time.perf_counter()
            item = next(iterator, _END)
            times.decode += time.perf_counter() - start
            _put(out, item, stop)
            if item is _END:
                return
    except _Stop:
        return
    except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
        errors.append(exc)
        stop.set()


def _worker(work: Callable[[Any], Any], inp: queue.Queue, out: queue.Queue, stop: threading.Event,
            times: StageTimes, errors: list[BaseException]) -> None:
    try:
        while True:
            item = _get(inp, stop)
            if item is _END:
                _put(out, _END, stop)
                return
            start = time.perf_counter()
            result = work(item)
            times.sr += time.perf_counter() - start
            _put(out, result, stop)
    except _Stop:
        return
    except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
        errors.append(exc)
        stop.set()


class Pipeline:
    """``for result in Pipeline(items, work): encode(result)`` - decode and SR run ahead in their threads."""

    def __init__(self, items: Iterable[Any], work: Callable[[Any], Any], depth: int = 4) -> None:
        self.times = StageTimes()
        self._stop = threading.Event()
        self._errors: list[BaseException] = []
        decoded: queue.Queue = queue.Queue(depth)
        self._done: queue.Queue = queue.Queue(depth)
        self._threads = [
            threading.Thread(target=_producer, args=(items, decoded, self._stop, self.times, self._errors),
                             name="edgeconv-decode", daemon=True),
            threading.Thread(target=_worker, args=(work, decoded, self._done, self._stop, self.times, self._errors),
                             name="edgeconv-sr", daemon=True),
        ]

    def __iter__(self) -> Iterator[Any]:
        start = time.perf_counter()
        for thread in self._threads:
            thread.start()
        try:
            while True:
                wait = time.perf_counter()
                try:
                    item = _get(self._done, self._stop)
                except _Stop:
                    break
                self.times.waiting += time.perf_counter() - wait
                if item is _END:
                    break
                handed = time.perf_counter()
                yield item
                self.times.encode += time.perf_counter() - handed  # the consumer's work: encoding, muxing
                self.times.frames += 1
        finally:
            self.close()
            self.times.wall = time.perf_counter() - start
        if self._errors:
            raise self._errors[0]

    def close(self) -> None:
        """Stop both threads (on an error, Ctrl-C or a consumer that stopped early) and wait for them."""
        self._stop.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=30)
