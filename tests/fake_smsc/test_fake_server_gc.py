"""runner.ServerGc: the GC policy of a process that runs only the platform.

Survivors of each collection are frozen (walked once), and a full collection (unfreeze,
collect, freeze) reclaims cyclic garbage once the frozen objects have grown enough,
checked on the reactor.  The GC is process-wide: the autouse fixture ``restore_gc`` hands it
back exactly as it found it (thresholds, callbacks, enabled, nothing frozen)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest
from twisted.internet import task

from smsdk_harness.fake_smsc.runner import SERVER_GC_THRESHOLDS, ServerGc, tune_gc_for_server


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> weakref.ref[Node]:
    """A two-object cycle nobody else refers to; a weak reference tells when it is gone."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def _gc_state() -> tuple:
    return (gc.get_threshold(), gc.isenabled(), list(gc.callbacks), gc.get_freeze_count())


@pytest.fixture(autouse=True)
def restore_gc() -> Iterator[list[ServerGc]]:
    """Every test here tunes the process-wide GC: it must find it untouched (nothing frozen,
    so stopping a policy unfreezes nobody else's objects) and leave it exactly as found,
    even when it fails half-way.  Policies a test starts go in the yielded list."""
    before = _gc_state()
    assert before[3] == 0, "something else froze objects: this module would unfreeze them"
    policies: list[ServerGc] = []
    try:
        yield policies
    finally:
        for policy in policies:
            policy.stop()
        gc.unfreeze()
        gc.set_threshold(*before[0])
        (gc.enable if before[1] else gc.disable)()
        gc.callbacks[:] = before[2]
    assert _gc_state() == before


@pytest.fixture
def server_gc(restore_gc) -> Iterator[tuple[ServerGc, task.Clock]]:
    clock = task.Clock()
    policy = ServerGc(clock, check_every=10.0, floor=10)
    restore_gc.append(policy)
    policy.start()
    yield policy, clock
    policy.stop()
    assert policy._collected not in gc.callbacks


def test_start_sets_the_thresholds_and_stop_gives_everything_back(server_gc) -> None:
    policy, _clock = server_gc
    assert gc.get_threshold() == SERVER_GC_THRESHOLDS
    assert gc.get_freeze_count() > 0  # start-up is frozen
    old = policy._old_thresholds
    policy.stop()
    assert gc.get_threshold() == old and gc.get_freeze_count() == 0
    policy.stop()  # twice is fine


def test_survivors_of_a_collection_are_frozen_and_garbage_still_goes(server_gc) -> None:
    keep = [Node() for _ in range(100)]
    frozen = gc.get_freeze_count()
    dead = cycle()
    gc.collect(0)
    assert dead() is None  # garbage at its young collection: collected as usual
    assert gc.get_freeze_count() >= frozen + len(keep)  # the survivors: frozen


def test_cyclic_garbage_made_after_freezing_waits_for_the_full_collection(server_gc) -> None:
    policy, _clock = server_gc
    holder = [Node(), Node()]
    holder[0].other, holder[1].other = holder[1], holder[0]
    gc.collect(0)  # the cycle is alive: frozen with the survivors
    probe = weakref.ref(holder[0])
    holder.clear()  # now it is garbage, but frozen
    gc.collect()
    assert probe() is not None  # a normal collection does not look at frozen objects
    assert policy.full() > 0
    assert probe() is None and policy.full_collections == 1


def test_the_reactor_runs_a_full_collection_once_the_frozen_objects_have_doubled(server_gc) -> None:
    policy, clock = server_gc
    policy._next_full = gc.get_freeze_count() + 1000  # as if the last full one was just now
    holder = [Node(), Node()]
    holder[0].other, holder[1].other = holder[1], holder[0]
    gc.collect(0)
    probe = weakref.ref(holder[0])
    holder.clear()
    clock.advance(10.0)
    assert policy.full_collections == 0 and probe() is not None  # not grown enough yet
    keep = [Node() for _ in range(2000)]
    gc.collect(0)
    clock.advance(10.0)
    assert policy.full_collections == 1 and probe() is None
    assert policy._next_full > gc.get_freeze_count()  # the next threshold is ahead again
    clock.advance(10.0)
    assert policy.full_collections == 1  # the next one waits for the next doubling


def test_tune_gc_for_server_starts_the_policy_on_the_given_reactor(restore_gc) -> None:
    clock = task.Clock()
    policy = tune_gc_for_server(clock)
    restore_gc.append(policy)
    assert isinstance(policy, ServerGc) and policy.reactor is clock
    assert gc.get_threshold() == SERVER_GC_THRESHOLDS
    assert clock.getDelayedCalls()  # the periodic check
    policy.stop()
    assert not clock.getDelayedCalls()
