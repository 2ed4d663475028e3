"""Registers Support's review page with Airflow: the FastAPI app of sophos_sync.review_page on the api-server
and its entry in the UI's navigation. The page's logic lives in that module."""
from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from sophos_sync import review_page


class SophosReviewPlugin(AirflowPlugin):
    name = "sophos_review"
    fastapi_apps = [{"app": review_page.app, "url_prefix": review_page.URL_PREFIX, "name": review_page.TITLE}]
    external_views = [review_page.NAV_ENTRY]
