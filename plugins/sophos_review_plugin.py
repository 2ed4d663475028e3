"""Registers Support's review page with Airflow: the FastAPI app of sophos_sync.review.page on the api-server
and its entry in the UI's navigation. The page's logic lives in that module."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from sophos_sync.review import page


class SophosReviewPlugin(AirflowPlugin):
    name = "sophos_review"
    fastapi_apps = [{"app": page.app, "url_prefix": page.URL_PREFIX, "name": page.TITLE}]
    external_views = [page.NAV_ENTRY]
