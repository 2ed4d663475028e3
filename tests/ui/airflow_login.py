"""What the browser tests share: where screenshots go, how long to wait, and Airflow's login page."""

from __future__ import annotations

from pathlib import Path

from devtools.localstack.environment import LOGIN

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
TIMEOUT_MS = 60_000


def login(page, base_url: str, credentials: tuple[str, str] = LOGIN) -> None:
    page.goto(f"{base_url}/")
    page.get_by_label("Username").fill(credentials[0])
    page.get_by_label("Password").fill(credentials[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/login" not in url)
