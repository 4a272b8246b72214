"""``/metrics``: what it counts, who may read it, and every worker of ``serve`` counted."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from alchemy_patterns.db import Database
from alchemy_patterns.settings import Settings
from alchemy_patterns.web import create_app
from alchemy_patterns.web.app import Api
from tests.serving import serving
from tests.web.metrics import sample, scrape


def test_requests_are_counted_by_route_template_method_and_status(
    client: FlaskClient, app_db: Database
) -> None:
    before = scrape(client)
    for _ in range(3):
        assert client.get("/products?per_page=5").status_code == 200
    assert client.get("/products/424242").status_code == 404
    assert client.get("/no/such/path").status_code == 404
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("http_requests_total", route="/products", method="GET", status="200") == 3
    # The template, never the id: one series however many products there are.
    route = "/products/<int:product_id>"
    assert delta("http_requests_total", route=route, method="GET", status="404") == 1
    assert delta("http_requests_total", route="unmatched", method="GET", status="404") == 1
    assert delta("http_request_duration_seconds_count", route="/products", method="GET") == 3


def test_statements_per_request_are_what_the_request_ran(client: FlaskClient) -> None:
    before = scrape(client)
    answer = client.get("/products?per_page=5")
    after = scrape(client)
    ran = int(answer.headers["Server-Timing"].split('desc="')[1].split(" ")[0])

    name = "db_statements_per_request"
    assert (
        sample(after, f"{name}_count", route="/products")
        - sample(before, f"{name}_count", route="/products")
        == 1
    )
    assert (
        sample(after, f"{name}_sum", route="/products")
        - sample(before, f"{name}_sum", route="/products")
        == ran
        >= 1
    )


def test_connections_in_use_follow_the_pool(client: FlaskClient, app_db: Database) -> None:
    idle = sample(scrape(client), "db_pool_connections_in_use", node="primary")
    with app_db.engine.connect() as held:
        held.exec_driver_sql("SELECT 1")
        # The scrape's own request holds none: /metrics does not touch the database.
        assert sample(scrape(client), "db_pool_connections_in_use", node="primary") == idle + 1
    assert sample(scrape(client), "db_pool_connections_in_use", node="primary") == idle


def test_another_network_is_told_nothing_is_there(client: FlaskClient) -> None:
    answer = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})

    assert answer.status_code == 404
    assert b"http_requests" not in answer.data


def test_a_network_the_settings_allow_may_scrape(app_db: Database) -> None:
    app = create_app(Settings(metrics_allow="10.0.0.0/8, 192.0.2.0/24"), db=app_db)
    client = app.test_client()

    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "172.16.0.1"}).status_code == 404


def test_a_malformed_network_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="metrics_allow"):
        Settings(metrics_allow="10.0.0.0/33")


def test_metrics_are_not_in_the_api_document(app: Api) -> None:
    assert "/metrics" not in app.api_doc["paths"]


@pytest.mark.backends("sqlite")
def test_serve_adds_up_every_worker(tmp_path: Path) -> None:
    """Two worker processes: whichever answers the scrape reports the requests of both."""
    with serving(tmp_path, "serve", "--workers", "2", "--threads", "2") as server:
        for _ in range(40):
            assert server.get("/healthz") == 200
        text = server.text("/metrics")
        assert server.stop() == 0

    samples = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    served = sample(samples, "http_requests_total", route="/healthz", method="GET", status="200")
    logged = [line for line in server.access_log() if line["path"] == "/healthz"]
    # Every /healthz the workers logged before the scrape (the 40, and the start-up polls).
    assert served == len(logged) >= 40
    assert len({line["pid"] for line in logged}) == 2  # both answered: no one worker's count
