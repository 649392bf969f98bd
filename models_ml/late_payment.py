"""Late payment: will an open invoice be paid more than N days late? (collections)

Question: as of a date, for each open invoice (issued, not yet paid in full, and not yet N
days past its due date), will it be paid in full more than N days after its due date, or not
at all by then? N comes from the tenant's YAML (``late_payment_days``, default 30). An invoice
already more than N days past due is a status ("already late"), not a prediction.

Planner's baseline: the customer's past lateness, i.e. the share of its earlier invoices whose
outcome was known at the cut-off that were paid more than N days late (the tenant's typical
share for a customer without history). The model adds the invoice itself (amount, terms, how
far past due, part payments), the customer's exposure (open and overdue invoices), disputes
and support tickets, and its recent orders.

Point in time: an invoice is paid when payments dated by the cut-off cover its amount (never
``invoices.status``, today's value); a dispute is known on the day its billing-dispute ticket
was opened (never ``invoices.is_disputed``). The predictions, ordered by the expected overdue
amount (open amount x probability), are the collections worklist.
"""

from __future__ import annotations

import pandas as pd

from models_ml.framework import ModelSpec

#: Payments covering this share of an invoice settle it (rounding, small bank charges).
PAID_SHARE = 0.99
DEFAULT_LATE_DAYS = 30

_INVOICES = """
inv AS (
    SELECT tenant_id, invoice_id, customer_id, invoice_date::DATE AS idate,
           due_date::DATE AS due, amount
    FROM fct_invoices
    WHERE list_contains($tenants, tenant_id) AND due_date IS NOT NULL AND amount > 0
      AND customer_id IS NOT NULL
),
"""

FEATURES_SQL = """
WITH """ + _INVOICES + """
pay AS (  -- payments known at the cut-off, cumulated per invoice
    SELECT p.tenant_id, p.invoice_id, p.payment_date::DATE AS d,
           sum(p.amount) OVER (PARTITION BY p.tenant_id, p.invoice_id
                               ORDER BY p.payment_date, p.payment_id
                               ROWS UNBOUNDED PRECEDING) AS cum
    FROM fct_payments p
    WHERE list_contains($tenants, p.tenant_id) AND p.invoice_id IS NOT NULL
      AND p.payment_date::DATE <= $as_of
),
st AS (  -- each invoice at the cut-off: paid so far, and the day it was settled, if it was
    SELECT i.*, coalesce(max(p.cum), 0) AS paid_amt,
           min(p.d) FILTER (WHERE p.cum >= """ + str(PAID_SHARE) + """ * i.amount) AS settled
    FROM inv i LEFT JOIN pay p USING (tenant_id, invoice_id)
    WHERE i.idate <= $as_of
    GROUP BY ALL
),
hist AS (  -- the customer's earlier invoices whose outcome was known at the cut-off
    SELECT tenant_id, customer_id,
           count(*) AS cust_invoices_known,
           avg((settled IS NULL OR settled - due > $late_days)::INT) AS cust_late_share,
           avg(settled - due) FILTER (WHERE settled IS NOT NULL) AS cust_avg_days_late,
           max(settled - due) FILTER (WHERE settled IS NOT NULL) AS cust_max_days_late,
           -- the newest settlement; ties on a day broken by invoice id (deterministic)
           arg_max(settled - due, strftime(settled, '%Y%m%d') || invoice_id)
               FILTER (WHERE settled IS NOT NULL) AS cust_last_days_late
    FROM st
    WHERE idate > $as_of - 730 AND (settled IS NOT NULL OR due + $late_days < $as_of)
    GROUP BY ALL
),
expo AS (  -- what the customer owes at the cut-off
    SELECT tenant_id, customer_id, count(*) AS cust_open_invoices,
           sum(amount - paid_amt) AS cust_open_amount,
           count(*) FILTER (WHERE due < $as_of) AS cust_overdue_invoices,
           coalesce(sum(amount - paid_amt) FILTER (WHERE due < $as_of), 0) AS cust_overdue_amount
    FROM st WHERE settled IS NULL AND idate > $as_of - 365
    GROUP BY ALL
),
tenant_typ AS (
    SELECT tenant_id, avg(cust_late_share) AS tenant_late_share FROM hist GROUP BY 1
),
sends_tickets AS (
    SELECT DISTINCT tenant_id FROM fct_tickets
    WHERE list_contains($tenants, tenant_id) AND created_at::DATE <= $as_of
),
tk AS (
    SELECT tenant_id, customer_id,
           count(*) FILTER (WHERE created_at::DATE > $as_of - 90) AS tickets_90d,
           count(*) FILTER (WHERE created_at::DATE > $as_of - 180
                            AND lower(coalesce(category, '')) LIKE '%disput%')
               AS billing_disputes_180d
    FROM fct_tickets
    WHERE list_contains($tenants, tenant_id) AND customer_id IS NOT NULL
      AND created_at::DATE <= $as_of AND created_at::DATE > $as_of - 180
    GROUP BY ALL
),
ord AS (
    SELECT tenant_id, customer_id, $as_of - max(order_date::DATE) AS days_since_last_order,
           count(*) FILTER (WHERE order_date::DATE > $as_of - 90) AS orders_90d
    FROM fct_orders
    WHERE list_contains($tenants, tenant_id) AND customer_id IS NOT NULL
      AND order_date::DATE <= $as_of
    GROUP BY ALL
)
SELECT s.tenant_id, s.invoice_id, $late_days AS late_days, s.customer_id, s.due AS due_date,
       s.amount - s.paid_amt AS open_amount,
       s.amount AS invoice_amount,
       s.due - $as_of AS days_to_due,
       CASE WHEN s.due >= $as_of THEN s.due - $as_of END AS days_until_due,  -- wording only
       greatest($as_of - s.due, 0) AS days_past_due,
       $as_of - s.idate AS days_since_invoice,
       s.due - s.idate AS payment_terms_days,
       s.paid_amt / s.amount AS paid_share,
       h.cust_invoices_known, h.cust_late_share, h.cust_avg_days_late, h.cust_max_days_late,
       h.cust_last_days_late,
       e.cust_open_invoices, e.cust_open_amount, e.cust_overdue_invoices, e.cust_overdue_amount,
       tt.tenant_late_share,
       CASE WHEN st2.tenant_id IS NOT NULL THEN coalesce(tk.tickets_90d, 0) END AS tickets_90d,
       CASE WHEN st2.tenant_id IS NOT NULL THEN coalesce(tk.billing_disputes_180d, 0) END
           AS billing_disputes_180d,
       o.days_since_last_order, o.orders_90d
FROM st s
LEFT JOIN hist h USING (tenant_id, customer_id)
LEFT JOIN expo e USING (tenant_id, customer_id)
LEFT JOIN tenant_typ tt ON tt.tenant_id = s.tenant_id
LEFT JOIN tk USING (tenant_id, customer_id)
LEFT JOIN ord o USING (tenant_id, customer_id)
LEFT JOIN sends_tickets st2 ON st2.tenant_id = s.tenant_id
WHERE s.settled IS NULL AND s.idate > $as_of - 365
"""

# Outcome: settled (payments reach the amount) more than N days after the due date, or not by
# then. Known on the settlement day when on time, else the day after due + N.
LABELS_SQL = """
WITH """ + _INVOICES + """
span AS (
    SELECT tenant_id, greatest(max(d)) AS last_d FROM (
        SELECT tenant_id, invoice_date::DATE AS d FROM fct_invoices
        WHERE list_contains($tenants, tenant_id)
        UNION ALL
        SELECT tenant_id, payment_date::DATE FROM fct_payments
        WHERE list_contains($tenants, tenant_id)) GROUP BY 1
),
pay AS (
    SELECT p.tenant_id, p.invoice_id, p.payment_date::DATE AS d,
           sum(p.amount) OVER (PARTITION BY p.tenant_id, p.invoice_id
                               ORDER BY p.payment_date, p.payment_id
                               ROWS UNBOUNDED PRECEDING) AS cum
    FROM fct_payments p
    WHERE list_contains($tenants, p.tenant_id) AND p.invoice_id IS NOT NULL
),
st AS (
    SELECT i.tenant_id, i.invoice_id, i.idate, i.due,
           min(p.d) FILTER (WHERE p.cum >= """ + str(PAID_SHARE) + """ * i.amount) AS settled
    FROM inv i LEFT JOIN pay p USING (tenant_id, invoice_id)
    GROUP BY ALL
),
lab AS (
    SELECT s.tenant_id, s.invoice_id,
           (s.settled IS NULL OR s.settled - s.due > $late_days)::INT AS label,
           CASE WHEN s.settled - s.due <= $late_days THEN s.settled
                ELSE s.due + $late_days + 1 END AS label_known_date,
           sp.last_d
    FROM st s JOIN span sp USING (tenant_id)
    WHERE s.idate <= $as_of AND s.idate > $as_of - 365
      AND (s.settled IS NULL OR s.settled > $as_of)
)
SELECT tenant_id, invoice_id, label, label_known_date FROM lab
WHERE label_known_date <= last_d
"""

SPAN_SQL = """
SELECT tenant_id, min(d) AS first_date, max(d) AS last_date FROM (
    SELECT tenant_id, invoice_date::DATE AS d FROM fct_invoices
    WHERE list_contains($tenants, tenant_id)
    UNION ALL
    SELECT p.tenant_id, p.payment_date::DATE FROM fct_payments p
    WHERE list_contains($tenants, p.tenant_id)
      AND EXISTS (SELECT 1 FROM fct_invoices i WHERE i.tenant_id = p.tenant_id))
GROUP BY 1
"""

FEATURE_LABELS = {
    "open_amount": "Amount still open",
    "invoice_amount": "Invoice amount",
    "days_to_due": "Days until the due date",
    "days_past_due": "Days past the due date",
    "days_since_invoice": "Days since the invoice date",
    "payment_terms_days": "Payment terms (days)",
    "paid_share": "Share of the invoice already paid",
    "cust_invoices_known": "Customer's earlier invoices with a known outcome",
    "cust_late_share": "Share of the customer's earlier invoices paid late",
    "cust_avg_days_late": "Customer's average days paid after the due date",
    "cust_max_days_late": "Customer's longest delay after the due date",
    "cust_last_days_late": "Days after the due date the customer paid its last invoice",
    "cust_open_invoices": "Customer's open invoices",
    "cust_open_amount": "Customer's open amount",
    "cust_overdue_invoices": "Customer's overdue invoices",
    "cust_overdue_amount": "Customer's overdue amount",
    "tenant_late_share": "Share of invoices paid late across customers",
    "tickets_90d": "Customer's support tickets in the last 90 days",
    "billing_disputes_180d": "Customer's billing disputes in the last 6 months",
    "days_since_last_order": "Days since the customer's last order",
    "orders_90d": "Customer's orders in the last 90 days",
}

REASON_TEMPLATES = {
    "cust_late_share": ("paid {v:.0%} of its last {cust_invoices_known:.0f} invoices late",),
    "cust_avg_days_late": ("usually pays {v:.0f} days after the due date",),
    "cust_max_days_late": ("has paid as late as {v:.0f} days after the due date",),
    "cust_last_days_late": ("paid its last invoice {v:.0f} days after the due date",),
    "days_past_due": ("already {v:.0f} days past due",),
    "days_to_due": ("due in {days_until_due:.0f} days", "already {days_past_due:.0f} days past "
                    "due"),
    "open_amount": ("{v:,.0f} still open on this invoice; typically {typ:,.0f}",),
    "invoice_amount": ("a large invoice: {v:,.0f}; typically {typ:,.0f}",),
    "paid_share": ("only {v:.0%} of the invoice paid so far",),
    "cust_open_invoices": ("{v:.0f} invoices open for this customer",),
    "cust_open_amount": ("the customer owes {v:,.0f} in total",),
    "cust_overdue_invoices": ("{v:.0f} invoices of this customer already overdue",),
    "cust_overdue_amount": ("{v:,.0f} of this customer's invoices already overdue",),
    "billing_disputes_180d": ("{v:.0f} billing disputes in the last 6 months",),
    "tickets_90d": ("{v:.0f} support tickets in the last 90 days",),
    "days_since_last_order": ("no order for {v:.0f} days",),
    "orders_90d": ("only {v:.0f} orders in the last 90 days",),
    "payment_terms_days": ("long payment terms: {v:.0f} days",),
    "days_since_invoice": ("invoiced {v:.0f} days ago",),
    "cust_invoices_known": ("a new customer: {v:.0f} earlier invoices",),
}
RISK_DIRECTION = {
    "cust_late_share": 1, "cust_avg_days_late": 1, "cust_max_days_late": 1,
    "cust_last_days_late": 1, "days_past_due": 1, "days_to_due": -1, "open_amount": 1,
    "invoice_amount": 1, "paid_share": -1, "cust_open_invoices": 1, "cust_open_amount": 1,
    "cust_overdue_invoices": 1, "cust_overdue_amount": 1, "billing_disputes_180d": 1,
    "tickets_90d": 1, "days_since_last_order": 1, "orders_90d": -1, "payment_terms_days": 1,
    "cust_invoices_known": -1,
}


def past_lateness_rule(df: pd.DataFrame) -> pd.Series:
    """Planner's rule: the customer's share of earlier invoices paid late (the tenant's share
    for a customer without history), ties broken by its average days late."""
    share = df["cust_late_share"].fillna(df["tenant_late_share"]).fillna(0.0)
    return share + 1e-3 * df["cust_avg_days_late"].fillna(0.0).clip(-60, 120)


def not_yet_late(df: pd.DataFrame) -> pd.Series:
    """In scope: not already past due by more than N days (that outcome is known)."""
    return df["days_past_due"] <= df["late_days"]


def already_late_reason(df: pd.DataFrame) -> pd.Series:
    return df.apply(lambda r: f"already late: {r['days_past_due']:.0f} days past due "
                              f"(more than {r['late_days']:.0f})", axis=1)


def tenant_late_days(cfg) -> dict:
    return {"late_days": int(getattr(cfg, "late_payment_days", DEFAULT_LATE_DAYS)
                             if cfg is not None else DEFAULT_LATE_DAYS)}


SPEC = ModelSpec(
    name="late_payment",
    question="Will the open invoice be paid more than N days late (N from the tenant's YAML)?",
    unit=("invoice_id",),
    features_sql=FEATURES_SQL,
    labels_sql=LABELS_SQL,
    span_sql=SPAN_SQL,
    feature_labels=FEATURE_LABELS,
    baseline=past_lateness_rule,
    baseline_name="customer's past lateness rule",
    horizon_days=0,  # "to due date + N": label_known_date carries the real horizon
    cutoff_every_days=14,
    fold_days=63,
    min_history_days=120,
    min_history_floor_days=60,
    alert_budget=0.1,
    params={"objective": "binary", "seed": 17, "learning_rate": 0.05, "num_leaves": 15,
            "min_data_in_leaf": 40},
    num_boost_round=200,
    in_scope=not_yet_late,
    scope_status="already_late",
    scope_reason=already_late_reason,
    reason_templates=REASON_TEMPLATES,
    risk_direction=RISK_DIRECTION,
    baseline_features=("cust_late_share", "cust_avg_days_late"),
    tenant_params=tenant_late_days,
    output_columns=("customer_id", "due_date", "open_amount", "days_past_due", "late_days"),
    worklist_amount="open_amount",
    marts=("fct_invoices", "fct_payments", "fct_tickets", "fct_orders"),
    context_features=("tenant_late_share",),
)
