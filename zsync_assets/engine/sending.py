"""How a push's batches reach a sink: several at once, and a batch the vendor refused as a
whole for its data split until its bad records stand alone. Touches the sink only: the
bookkeeping around each call is push.py's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from queue import SimpleQueue
from typing import TypeVar

from zsync_assets.engine.sink import Outcome, Outgoing, Sink

B = TypeVar("B")
R = TypeVar("R")


def _refused_as_a_whole(outcome: Outcome) -> bool:
    failure = outcome.failure
    return failure is not None and failure.whole_request and failure.kind == "data"


def write_isolating(sink: Sink, records: Sequence[Outgoing]) -> list[Outcome]:
    """`sink.write`, splitting a batch the vendor refused as a whole for its data (a NetSuite
    fault over one value its schema rejects) until the bad records stand alone: every other
    record lands in this run, and only the bad ones fail, with the vendor's message. A whole-
    request refusal means nothing was written, so re-sending the halves is safe; one bad record
    in 100 costs about 2 x log2(100) = 14 more calls."""
    outcomes = list(sink.write(records))
    if len(outcomes) != len(records):
        raise RuntimeError(f"sink {sink.system} returned {len(outcomes)} outcomes for {len(records)} records")
    refused = [i for i, outcome in enumerate(outcomes) if _refused_as_a_whole(outcome)]
    if len(refused) > 1:
        half = len(refused) // 2
        for part in (refused[:half], refused[half:]):
            for i, outcome in zip(part, write_isolating(sink, [records[i] for i in part]), strict=True):
                outcomes[i] = outcome
    return outcomes


def in_parallel(
    send: Callable[[B], R], batches: list[B], workers: int, finished: Callable[[R], None], unsent: list[B]
) -> None:
    """`send` each batch, up to `workers` at once, and hand each to `finished` as it completes.
    If one raises, batches not started yet are cancelled (listed in `unsent`), those in flight
    finish (their results are written), and the error propagates.

    The workers are daemon threads, one per batch in flight: an interrupt (SIGTERM, Ctrl-C) of
    the calling thread ends the push at once instead of waiting for calls in flight, which a
    slow vendor may hold for minutes (a `ThreadPoolExecutor` joins its threads on the way out,
    at exit too). A call cut off that way leaves its `started` rows, looked up next run."""
    if workers <= 1 or len(batches) <= 1:
        for i, batch in enumerate(batches):
            try:
                finished(send(batch))
            except BaseException:
                unsent.extend(batches[i + 1 :])
                raise
        return
    answers: SimpleQueue[tuple[R | None, BaseException | None]] = SimpleQueue()

    def work(batch: B) -> None:
        try:
            answers.put((send(batch), None))
        except BaseException as exc:  # handed to the calling thread, which raises it
            answers.put((None, exc))

    queue, in_flight, error = iter(batches), 0, None

    def start_next() -> None:
        nonlocal in_flight
        following = next(queue, None)
        if following is not None:
            threading.Thread(target=work, args=(following,), name="zsync-push", daemon=True).start()
            in_flight += 1

    try:
        for _ in range(workers):
            start_next()
        while in_flight:
            result, exc = answers.get()
            in_flight -= 1
            if exc is not None:
                error = error or exc  # nothing more is started; the ones in flight finish
                continue
            finished(result)  # type: ignore[arg-type]  # None only with an exception
            if error is None:
                start_next()
    except BaseException:
        unsent.extend(queue)
        raise
    if error is not None:
        unsent.extend(queue)
        raise error
