"""Prometheus metrics of the worker: what is counted, and how every worker process is served.

- `definitions`: the metric objects, declared in one place (the contract in the README).
- `signals`: counts every task from Celery's signals, whatever its base class.
- `dead_letters`: counts dead-letter records where they are made (no Celery signal marks them).
- `multiprocess`: the worker's private directory of per-process values, and the merge of what
  dead pool processes leave there.
- `gauges`: queue and dead-letter store gauges, read once per interval per deployment.
- `server`: the worker bootstep that serves `/metrics` on `METRICS_PORT` from the main process.
"""
