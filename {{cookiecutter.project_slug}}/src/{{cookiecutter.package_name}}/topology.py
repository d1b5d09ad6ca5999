"""Exchanges and queues{% if cookiecutter.broker == "rabbitmq" %}, and their declaration on the broker{% endif %}.
{%- if cookiecutter.broker == "rabbitmq" %}

The work queue is a durable quorum queue. A message returned after worker loss more than
`RABBITMQ_DELIVERY_LIMIT` times, or rejected after its final failure, is dead-lettered through
the `dlx` exchange into `dead_letter`. The task exchange is a topic exchange so that countdown
retries use RabbitMQ's native delayed delivery instead of waiting in worker memory.
{%- else %}

Redis has no dead-letter exchange: the queue names match the RabbitMQ build, and the
application moves terminal failures to `dead_letter` itself.
{%- endif %}

`QUEUE_NAME_PREFIX` renames both queues (`tour_default`, `tour_dead_letter`); the exchanges stay,
and the routing keys keep the two sets of queues apart.
"""

from collections.abc import Mapping

{% if cookiecutter.broker == "rabbitmq" -%}
from amqp.exceptions import PreconditionFailed
from kombu import Connection, Exchange, Queue

from .settings import Settings, SettingsError, get_settings
{%- else -%}
from kombu import Exchange, Queue

from .settings import SettingsError, get_settings
{%- endif %}


def queue_name_prefix() -> str:
    """QUEUE_NAME_PREFIX. Invalid settings leave the names plain here: this runs on import, and
    the command that loads the settings next reports the problem in its own words."""
    try:
        return get_settings().queue_name_prefix
    except SettingsError:
        return ""


QUEUE_PREFIX = queue_name_prefix()
WORK_QUEUE = f"{QUEUE_PREFIX}default"
DEAD_LETTER_QUEUE = f"{QUEUE_PREFIX}dead_letter"
# RabbitMQ's native delayed delivery puts the delay's bits before the routing key: "1.0.1.default".
DELAY_BITS = frozenset("01")

TASK_EXCHANGE = Exchange("tasks", type="topic", durable=True)
DEAD_LETTER_EXCHANGE = Exchange("dlx", type="direct", durable=True)


def queue_name(delivery_info: Mapping[str, object] | None, task_queue: str | None = None) -> str:
    """The queue a message came from: its routing key without a delayed-delivery prefix, else
    the task's own queue, else the work queue."""
    routing_key = str((delivery_info or {}).get("routing_key") or "")
    return queue_from_routing_key(routing_key) or task_queue or WORK_QUEUE


def queue_from_routing_key(routing_key: str) -> str:
    """The queue a routing key names, without a delayed-delivery prefix ("" for "")."""
    parts = routing_key.split(".")
    while len(parts) > 1 and parts[0] in DELAY_BITS:
        parts.pop(0)
    return ".".join(parts)
{%- if cookiecutter.broker == "rabbitmq" %}


class TopologyConflictError(RuntimeError):
    """A queue exists on the broker with other arguments than this service declares."""


def task_queues(settings: Settings) -> tuple[Queue, Queue]:
    """The work queue and the dead-letter queue, with their RabbitMQ arguments."""
    work = Queue(
        WORK_QUEUE,
        TASK_EXCHANGE,
        routing_key=WORK_QUEUE,
        queue_arguments={
            "x-queue-type": "quorum",
            # RabbitMQ 3.x has no default: without a limit a poison message loops forever.
            "x-delivery-limit": settings.rabbitmq_delivery_limit,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE.name,
            "x-dead-letter-routing-key": DEAD_LETTER_QUEUE,
            # Dead-letter at least once: RabbitMQ keeps a message until `dead_letter` has
            # confirmed it, instead of dropping it if that queue is briefly unavailable. This
            # strategy needs `reject-publish` overflow (with no length limit set, it never fires).
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        },
    )
    dead_letter = Queue(
        DEAD_LETTER_QUEUE,
        DEAD_LETTER_EXCHANGE,
        routing_key=DEAD_LETTER_QUEUE,
        queue_arguments={"x-queue-type": "quorum"},
    )
    return work, dead_letter


def declare(connection: Connection, queues: tuple[Queue, ...]) -> None:
    """Declare each queue with its exchange and binding.

    Raises:
        TopologyConflictError: a queue already exists with other arguments. RabbitMQ can't
            change a queue's arguments in place, so the message says what to do instead.
    """
    for queue in queues:
        try:
            with connection.channel() as channel:
                queue.bind(channel).declare()
        except PreconditionFailed as refusal:
            raise TopologyConflictError(
                f"queue {queue.name!r} already exists on the broker with other arguments than "
                f"this service declares ({queue.queue_arguments}); RabbitMQ said: "
                f"{refusal.reply_text}. Queue arguments can't be changed in place "
                "(x-delivery-limit comes from RABBITMQ_DELIVERY_LIMIT): drain the queue and "
                f"delete it (rabbitmqctl delete_queue {queue.name}), or point CELERY_BROKER_URL "
                "at another vhost."
            ) from None
{%- else %}


TASK_QUEUES = (
    Queue(WORK_QUEUE, TASK_EXCHANGE, routing_key=WORK_QUEUE),
    Queue(DEAD_LETTER_QUEUE, DEAD_LETTER_EXCHANGE, routing_key=DEAD_LETTER_QUEUE),
)
{%- endif %}
