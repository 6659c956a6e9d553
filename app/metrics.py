"""Prometheus metrics, one registry per runtime (nothing is created at import time)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.posts = Counter(
            "groundswell_posts_total",
            "Posts received, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.decisions = Counter(
            "groundswell_detector_decisions_total",
            "Detector decisions that change an alert (open, update, touch, resolve), by action",
            ["action"],
            registry=self.registry,
        )
        self.poll_rejected = Counter(
            "groundswell_poll_items_rejected_total",
            "Items of polled channels skipped as malformed, by channel kind",
            ["kind"],
            registry=self.registry,
        )
        self.deliveries = Counter(
            "groundswell_deliveries_total",
            "Outbox deliveries, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.dead_deliveries = Counter(
            "groundswell_deliveries_dead_total",
            "Outbox messages given up on, by target kind (slack, webhook)",
            ["target"],
            registry=self.registry,
        )
        self.outbox = Gauge(
            "groundswell_outbox_messages",
            "Outbox messages by state (dead = gave up)",
            ["state"],
            registry=self.registry,
        )
        self.detect_seconds = Histogram(
            "groundswell_detection_pass_seconds",
            "Duration of a detection pass",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))
