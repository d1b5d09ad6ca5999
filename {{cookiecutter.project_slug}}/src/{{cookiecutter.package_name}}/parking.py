"""Countdowns wait in Redis, not in workers.

A Redis worker that fetches a task due later (a retry waiting out its backoff, a caller's
`apply_async(countdown=…/eta=…)`, a scheduled replay) holds it unacknowledged in memory until it is
due. It costs memory, and the visibility timeout had to outlast the longest wait, or Redis handed
the message to a second worker.

Instead, a message due more than `HOLD_AT_MOST` seconds ahead is parked: the exact payload the
transport would push, and the exact list it would push it to (queue and priority already
resolved), go into one sorted set scored by the due time. Every worker moves what is due to its
list each `MOVE_INTERVAL` (`countdown_mover.py`), in one Lua script, so an entry is moved exactly
once however many workers run it. The worker that fetches it sees an eta in the past and runs it.

A crash between parking a retry and acknowledging the message that asked for it leaves both:
the task may run twice, never zero times.
"""

import json
from typing import Any

from redis.commands.core import Script

from .task_eta import eta_timestamp

# Countdowns due sooner than this are pushed to their queue and wait in the worker as before.
HOLD_AT_MOST = 2.0
# How often every worker moves due messages to their queues: the most a parked task runs late.
MOVE_INTERVAL = 1.0
# The sorted set holding every parked message.
PARKED_KEY = "parked"
# The most entries one script call moves; the mover calls again while there are more.
MOVE_BATCH = 500

# KEYS[1]: the parked set. ARGV[1]: now (epoch seconds). ARGV[2]: the batch size.
# Each member is a JSON array [list key, payload]; the payload string is pushed untouched.
MOVE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, entry in ipairs(due) do
    local target = cjson.decode(entry)
    redis.call('LPUSH', target[1], target[2])
    redis.call('ZREM', KEYS[1], entry)
end
return #due
"""


def due_at(message: dict[str, Any]) -> float | None:
    """When a task message is due (epoch seconds), or None when it is due at once or its eta
    can't be read (such a message goes to its queue, and its worker decides what to do)."""
    return eta_timestamp((message.get("headers") or {}).get("eta"))


def should_park(message: dict[str, Any], now: float) -> float | None:
    """The due time of a message to park, or None for a message to push to its queue now."""
    due = due_at(message)
    if due is None or due - now <= HOLD_AT_MOST:
        return None
    return due


def parked_entry(list_key: str, payload: str) -> str:
    """The sorted-set member for `payload` bound for `list_key` (payloads carry a unique
    delivery tag, so no two members are equal)."""
    return json.dumps([list_key, payload])


def park(client: Any, list_key: str, payload: str, due: float) -> None:
    """Keep `payload` in Redis until `due`, then push it to `list_key`."""
    client.zadd(PARKED_KEY, {parked_entry(list_key, payload): due})


def move_due(script: Script, now: float) -> int:
    """Move every parked message due by `now` to its queue; returns how many moved."""
    moved = 0
    while True:
        batch = int(script(keys=[PARKED_KEY], args=[now, MOVE_BATCH]))
        moved += batch
        if batch < MOVE_BATCH:
            return moved
