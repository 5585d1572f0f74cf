"""The queue in front of the model server: bounded, fair between users, telling each its place."""

from __future__ import annotations

import asyncio

import pytest

from bot.chat.queue import FairQueue, QueueFull
from tests.waiting import wait_until


class Job:
    """A request holding a place in the queue until the test lets it go."""

    def __init__(self, queue: FairQueue, user: str, order: list[str], name: str) -> None:
        self.positions: list[int] = []
        self.release = asyncio.Event()
        self.started = asyncio.Event()
        self.task = asyncio.create_task(self._run(queue, user, order, name))

    async def _tell(self, ahead: int) -> None:
        self.positions.append(ahead)

    async def _run(self, queue: FairQueue, user: str, order: list[str], name: str) -> None:
        async with queue.slot(user, self._tell):
            order.append(name)
            self.started.set()
            await self.release.wait()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_runs_at_most_the_bound_at_once():
    queue = FairQueue(concurrency=2, max_waiting=10)
    order: list[str] = []
    jobs = [Job(queue, f"u{i}", order, f"j{i}") for i in range(4)]
    await settle()
    assert order == ["j0", "j1"] and queue.running == 2 and queue.waiting == 2
    jobs[0].release.set()
    await jobs[2].started.wait()
    assert order == ["j0", "j1", "j2"] and queue.running == 2
    for job in jobs:
        job.release.set()
    await asyncio.gather(*(job.task for job in jobs))
    assert queue.running == 0 and queue.waiting == 0


async def test_waiting_users_are_served_round_robin_not_first_come():
    queue = FairQueue(concurrency=1, max_waiting=20)
    order: list[str] = []
    blocker = Job(queue, "x", order, "x0")
    await settle()
    # Alice asks three times before Bob and Carol ask once each.
    jobs = [Job(queue, "alice", order, f"a{i}") for i in range(3)]
    await settle()
    jobs += [Job(queue, "bob", order, "b0"), Job(queue, "carol", order, "c0")]
    await settle()
    blocker.release.set()
    for job in jobs:
        job.release.set()
    await asyncio.gather(*(job.task for job in jobs))
    assert order == ["x0", "a0", "b0", "c0", "a1", "a2"]


async def test_each_waiter_hears_its_place_as_it_moves():
    queue = FairQueue(concurrency=1, max_waiting=10)
    order: list[str] = []
    first = Job(queue, "u0", order, "first")
    await settle()
    second, third = Job(queue, "u1", order, "second"), Job(queue, "u2", order, "third")
    await wait_until(lambda: third.positions == [1])
    assert second.positions == [0]
    first.release.set()
    await second.started.wait()
    await wait_until(lambda: third.positions == [1, 0])
    second.release.set()
    third.release.set()
    await asyncio.gather(first.task, second.task, third.task)


async def test_past_the_maximum_a_request_is_refused_with_when_to_retry():
    queue = FairQueue(concurrency=1, max_waiting=2, typical_seconds=20)
    order: list[str] = []
    jobs = [Job(queue, f"u{i}", order, f"j{i}") for i in range(3)]
    await settle()
    with pytest.raises(QueueFull) as refused:
        async with queue.slot("late"):
            pass
    assert "2 comparisons are already waiting" in str(refused.value)
    assert refused.value.retry_after == pytest.approx(60)
    for job in jobs:
        job.release.set()
    await asyncio.gather(*(job.task for job in jobs))


async def test_a_cancelled_waiter_leaves_and_frees_nothing_it_did_not_hold():
    queue = FairQueue(concurrency=1, max_waiting=10)
    order: list[str] = []
    first = Job(queue, "u0", order, "first")
    await settle()
    quitter, patient = Job(queue, "u1", order, "quitter"), Job(queue, "u2", order, "patient")
    await settle()
    quitter.task.cancel()
    await asyncio.gather(quitter.task, return_exceptions=True)
    assert queue.waiting == 1 and queue.running == 1
    await wait_until(lambda: patient.positions[-1:] == [0])
    first.release.set()
    patient.release.set()
    await asyncio.gather(first.task, patient.task)
    assert order == ["first", "patient"] and queue.running == 0


async def test_an_exempt_request_waits_its_turn_but_is_never_refused():
    queue = FairQueue(concurrency=1, max_waiting=1)
    order: list[str] = []
    jobs = [Job(queue, "u0", order, "first"), Job(queue, "u1", order, "second")]
    await settle()
    assert queue.refusal() is not None

    async def admin() -> None:
        async with queue.slot("admin", exempt=True):
            order.append("admin")

    task = asyncio.create_task(admin())
    await settle()
    assert queue.waiting == 2 and order == ["first"]
    for job in jobs:
        job.release.set()
    await asyncio.gather(task, *(job.task for job in jobs))
    assert order == ["first", "second", "admin"]
