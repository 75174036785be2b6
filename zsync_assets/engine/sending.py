"""How a push's batches reach a sink: several at once, and a batch the vendor refused as a
whole for its data split until its bad records stand alone. Touches the sink only: the
bookkeeping around each call is push.py's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

from zsync_assets.engine.sink import Outcome, Outgoing, Sink

B = TypeVar("B")


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
    send: Callable[[B], B], batches: list[B], workers: int, finished: Callable[[B], None], unsent: list[B]
) -> None:
    """`send` each batch, up to `workers` at once, and hand each to `finished` as it completes.
    If one raises, batches not started yet are cancelled (listed in `unsent`), those in flight
    finish (their results are written), and the error propagates."""
    if workers <= 1 or len(batches) <= 1:
        for i, batch in enumerate(batches):
            try:
                finished(send(batch))
            except BaseException:
                unsent.extend(batches[i + 1 :])
                raise
        return
    # At most `workers` batches are submitted at a time, so each one submitted runs at once; after
    # an error nothing more is submitted, and the ones in flight finish.
    queue, error = iter(batches), None
    with ThreadPoolExecutor(max_workers=min(workers, len(batches)), thread_name_prefix="zsync-push") as pool:
        in_flight: dict[Future, B] = {}
        for first in (next(queue, None) for _ in range(workers)):
            if first is not None:
                in_flight[pool.submit(send, first)] = first
        while in_flight:
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                del in_flight[future]
                if future.exception() is not None:
                    error = error or future.exception()
                    continue
                finished(future.result())
                following = next(queue, None) if error is None else None
                if following is not None:
                    in_flight[pool.submit(send, following)] = following
    if error is not None:
        unsent.extend(queue)
        raise error
