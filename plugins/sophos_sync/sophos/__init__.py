"""Sophos's API: the client of one partner credential (`client`) and its parts (`http`: token, retries and
bodies; `paging`; `urls`: where secrets may go; `endpoints`), with no Airflow import but in `hook`, the one
place an Airflow connection becomes a client."""
