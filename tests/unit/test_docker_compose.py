"""Issue #24 item 11: `docker compose up --scale app=3` can start every replica.

Docker is not available to the test suite, so this reads docker-compose.yml (YAML,
with its anchors merged) and checks the structure that decides it: the `app`
service publishes no host port (a second replica could not bind it), one other
service is the single published entry and forwards to the `app` replicas, and
exactly one instance runs the scheduler (two would poll, detect and page twice)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def _host_ports(service: dict) -> list[str]:
    return [
        str(p.get("published", "")) if isinstance(p, dict) else str(p)
        for p in service.get("ports", [])
    ]


def test_the_scaled_app_service_publishes_no_host_port() -> None:
    app = _compose()["services"]["app"]
    assert _host_ports(app) == [], "a host port on `app` stops the second replica starting"
    assert "container_name" not in app  # a fixed name cannot be scaled either


def test_one_proxy_service_is_the_published_entry_and_forwards_to_the_app_replicas() -> None:
    services = _compose()["services"]
    published = {name: s for name, s in services.items() if _host_ports(s)}
    assert len(published) == 1, sorted(published)
    [(name, proxy)] = published.items()
    assert "build" not in proxy, f"{name} is a groundswell instance, not a proxy"
    assert "8000:8000" in _host_ports(proxy)
    mounts = [v.split(":")[0] for v in proxy.get("volumes", []) if isinstance(v, str)]
    configs = [ROOT / m for m in mounts if m.startswith("./")]
    assert configs and all(c.is_file() for c in configs), mounts
    text = "\n".join(c.read_text(encoding="utf-8") for c in configs)
    assert re.search(r"listen\s+8000\b", text)
    assert "http://app:8000" in text  # the service name: Docker's DNS answers every replica
    assert "resolver 127.0.0.11" in text  # re-resolved, so replicas added later get traffic


def test_exactly_one_instance_runs_the_scheduler() -> None:
    services = _compose()["services"]
    instances = {n: s for n, s in services.items() if s.get("build")}
    assert "app" in instances
    on = [
        n
        for n, s in instances.items()
        if str(s.get("environment", {}).get("GROUNDSWELL_SCHEDULER_ENABLED", "true")).lower()
        not in ("false", "0", "no")
    ]
    assert len(on) == 1 and on != ["app"], on  # `app` is the one that scales
    for s in instances.values():
        env = s.get("environment", {})
        assert env.get("GROUNDSWELL_DATABASE_URL", "").startswith("postgresql")


def test_the_readme_says_how_to_run_replicas() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docker compose up --build --scale app=3" in readme
