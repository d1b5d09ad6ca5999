"""Read a worker's /metrics as Prometheus would."""

from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float

    def __str__(self) -> str:
        labels = ",".join(f'{key}="{value}"' for key, value in sorted(self.labels.items()))
        return self.name + "{" + labels + "}" + f" {self.value:g}"


def scrape(port: int) -> list[Sample]:
    """Every sample the worker on `port` serves."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return [
        Sample(sample.name, dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def total(samples: list[Sample], metric: str, **labels: str) -> float:
    """The sum of `metric`'s samples whose labels include `labels`."""
    return sum(
        sample.value
        for sample in samples
        if sample.name == metric and labels.items() <= sample.labels.items()
    )
