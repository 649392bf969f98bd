"""Realistic demo tenants: ``tenantlake demo generate`` / :func:`generate`.

Three businesses, each exporting in its own dialect into its drop folder
(``<home>/drops/<tenant_id>/``), mapped onto the canonical contracts by ``tenants/<id>.yml``:

* ``northwind-distribution`` — food-service distributor, 4 warehouses, German ERP: ``;`` CSV,
  latin-1, decimal comma, ``dd.mm.yyyy``; one line export feeds order_lines AND shipments; all
  16 entities. Partner ``northbridge-consulting``; shares training data.
* ``bluepeak-outdoor`` — outdoor ecommerce brand, web + marketplace, strong promotions and
  site-wide sales (Black Friday, summer sale): JSON lines, camelCase, ISO/UTC timestamps; sends
  no invoices, payments or opportunities. Partner ``northbridge-consulting``; shares data.
* ``harbor-wholesale`` — US MRO wholesaler, 3 branches: Parquet with typed dates, US ERP names
  (``SO_NO``, ``QTY_ORD``), USD; sends no workflow_runs. Partner ``keystone-systems``;
  does NOT share training data.

About two years (``days``, default 730) of history end at ``end_date`` (default today).
Everything is drawn from one seeded generator per tenant, so (seed, end_date, sizes) give
byte-identical files. Extra scale tenants (``scale-0004``...) reuse the three dialects.

Planted causes (what the models should find), each with noise so that no model is perfect:

Stockouts (SKU x location x day; inventory is simulated day by day per SKU x location, with
receipts, allocations and shipments, so snapshots, PO receipts and shipped quantities agree):
  * promotions lift a SKU's demand 1.6-4x for 1-3 weeks (``is_promo`` on the line, with a
    promo discount); the replenishment planner never anticipates them;
  * yearly/weekly seasonality per category; the planner's demand estimate is a monthly EWMA,
    so it lags seasonal ramps; random bulk orders (demand spikes);
  * suppliers differ in lead time (4-75 days), lead-time variability (cv 0.05-0.55) and late
    deliveries (5-25 extra days); safety stock ignores lead-time variability;
  * ~22% of SKUs are planned with very low safety stock (z 0.1-0.5 instead of 1.2-2.1);
  * when available stock runs out, lines ship short (``quantity_shipped < quantity_ordered``;
    an order with nothing available is backordered/cancelled) and on-hand can reach zero.

Churn (customer stops ordering): ~25% of B2B customers (35% of ecommerce) churn over the
window; 75% of them first decline over 60-180 days (order rate falls to ~20%, basket value by
~45%); 25% stop abruptly. Service trouble leads: 30-120 days before the decline starts (or the
abrupt stop, for three in five abrupt churners) the customer has 5x the ticket rate, lower
CSAT, more contacts, ~+12pp disputed invoices, more late deliveries (+22pp), while ordering
still looks normal; churners also pay later. Noise: 20% of loyal
customers take a temporary 45-120 day dip (35% of normal rate) and come back; customer order
rates are heterogeneous (gamma). Some churners are mid-decline at the end date.

Project failure (go-live > 30 days late, or cancelled): 50-65 projects per tenant (ERP
go-lives, module rollouts, integrations, EDI onboardings, warehouse rollouts, BI). A latent risk
= weak partner (rapidedi-services, bayline-integrations are weak) + complexity (project type) +
scope changes + noise drives failure (~35%); early milestones slip in proportion to the final
delay plus risk plus noise; spent hours overrun the budget with risk; troubled projects raise
more tickets (``project_id`` set) during the project and after go-live.

The ground truth is written to ``<home>/demo_truth/<tenant_id>/`` (never landed) for checks.
"""

from __future__ import annotations

from tenantlake.demo.generate import generate, plan_tenants
from tenantlake.demo.profiles import DEMO_TENANTS

__all__ = ["generate", "plan_tenants", "DEMO_TENANTS"]
