"""Reverse-ETL alerts: rules -> outbox -> approval -> signed delivery -> hash-chained audit.

Modules: :mod:`~tenantlake.alerts.rules` (build candidates from predictions and KPIs),
:mod:`~tenantlake.alerts.outbox` (states and transitions), :mod:`~tenantlake.alerts.audit`
(the chain), :mod:`~tenantlake.alerts.channels` (webhook, Slack, e-mail, file, REST),
:mod:`~tenantlake.alerts.delivery` (retries, leases, rate limits), :mod:`~tenantlake.alerts.safety`
(holds and destination checks), :mod:`~tenantlake.alerts.access` (who may approve; what pages
read).
"""
