"""The three export dialects: how each demo tenant's systems write files, and the YAML mapping.

A dialect is a list of :class:`FileSpec`: one export file (or one file per month) with its own
column names, codes and formats. The same spec drives both sides, so they cannot drift:

* :func:`write_frame` turns canonical rows (from :mod:`tenantlake.demo.sim`) into the export
  (renaming columns, translating values into the tenant's codes, formatting dates and numbers);
* :func:`sources_yaml` renders the ``sources:`` section of the tenant YAML that maps the export
  back onto the canonical contracts (``columns``, ``value_maps``, ``expressions``, ``where``).

Dialects:

``northwind`` (German ERP): ``;``-separated CSV, latin-1, decimal comma, ``dd.mm.yyyy`` dates,
German column names and status codes, ``J``/``N`` flags. One line-level export
(``auftraege/positionen_*.csv``) feeds both ``order_lines`` and ``shipments``: the delivery
note number and ship/delivery dates sit on every line, and the shipments mapping keeps line 1
of each shipped order (``where``). Discounts come in percent and the net line value is computed
by an expression.

``bluepeak`` (ecommerce platform): JSON lines, camelCase fields (snake_case from the helpdesk),
ISO dates and UTC ``...Z`` timestamps, native booleans.

``harbor`` (US wholesale ERP): Parquet with typed dates/timestamps, upper-case US ERP column
names (``SO_NO``, ``QTY_ORD``), ``Y``/``N`` flags and single-letter status codes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tenantlake.contracts import CONTRACTS

Producer = str | Callable[[pd.DataFrame], object]


@dataclass(frozen=True)
class Col:
    name: str
    #: Canonical column of the frame (``_x`` = a helper column not in the frame's contract) or a
    #: function of the frame.
    src: Producer
    #: Contract dtype for function columns (string|int|float|bool|date|timestamp).
    dtype: str | None = None
    #: canonical value -> the tenant's code.
    codes: dict | None = None


@dataclass(frozen=True)
class FileSpec:
    source: str
    frame: str
    #: Relative path; "{month}" = one file per monthly export run (labelled by its last day).
    out: str
    cols: tuple[Col, ...]
    #: Entities this export feeds (default: just ``frame``) -> mapping options:
    #: expressions, constants, where, exclude (canonical columns not to map from cols).
    feeds: dict[str, dict] = field(default_factory=dict)

    @property
    def monthly(self) -> bool:
        return "{month}" in self.out

    def fed(self) -> dict[str, dict]:
        return self.feeds or {self.frame: {}}


@dataclass(frozen=True)
class Dialect:
    name: str
    format: str  # csv | jsonl | parquet
    files: tuple[FileSpec, ...]
    csv: dict = field(default_factory=dict)
    date_format: str | None = None
    timestamp_format: str | None = None
    decimal_separator: str = "."
    timezone: str | None = None
    month_fmt: str = "%Y-%m-%d"


YN = {True: "Y", False: "N"}
JN = {True: "J", False: "N"}


def _dtype(entity: str, col: Col) -> str:
    if col.dtype:
        return col.dtype
    name = col.src.lstrip("_")  # type: ignore[union-attr]
    for e in (entity, "shipments", "orders", "order_lines"):
        c = CONTRACTS[e]
        if name in c.column_names:
            return c.column(name).dtype
    raise KeyError(f"no dtype for {col.name}")


# --------------------------------------------------------------------------- northwind (DE)

NORTHWIND = Dialect(
    name="northwind", format="csv",
    csv={"delimiter": ";", "encoding": "latin-1"},
    date_format="%d.%m.%Y", timestamp_format="%d.%m.%Y %H:%M", decimal_separator=",",
    timezone="Europe/Berlin",
    files=(
        FileSpec("kunden", "customers", "stammdaten/kunden.csv", (
            Col("KdNr", "customer_id"), Col("Name1", "customer_name"),
            Col("Kundengruppe", "segment"), Col("Vertriebsgebiet", "region"),
            Col("Angelegt am", "created_date"),
            Col("Status", "status", codes={"active": "A", "inactive": "I", "blocked": "G"}))),
        FileSpec("artikel", "products", "stammdaten/artikel.csv", (
            Col("ArtNr", "sku"), Col("Bezeichnung", "product_name"),
            Col("Warengruppe", "category"), Col("LiefNr", "supplier_id"),
            Col("EK-Preis", "unit_cost"), Col("VK-Preis", "list_price"),
            Col("WBZ Tage", "lead_time_days"), Col("Aktiv", "is_active", codes=JN))),
        FileSpec("lager", "locations", "stammdaten/lager.csv", (
            Col("LagerNr", "location_id"), Col("Lagerbezeichnung", "location_name"),
            Col("Lagerart", "location_type", codes={"distribution_center": "ZL",
                                                   "warehouse": "RL"}),
            Col("Gebiet", "region"))),
        FileSpec("auftraege", "orders", "auftraege/auftraege_{month}.csv", (
            Col("AuftragsNr", "order_id"), Col("KdNr", "customer_id"),
            Col("Auftragsdatum", "order_date"), Col("Nettowert", "order_amount"),
            Col("Währung", "currency"),
            Col("Eingangskanal", "channel", codes={
                "edi": "EDI", "email": "MAIL", "phone": "TEL", "sales_rep": "AD", "web": "SHOP",
                "marketplace": "MP", "pos": "KASSE", "other": "SONST"}),
            Col("Status", "status", codes={
                "open": "OF", "allocated": "RS", "shipped": "VS", "delivered": "GL",
                "cancelled": "ST", "backordered": "RK", "returned": "RT"}),
            Col("Lager", "location_id"), Col("Wunschtermin", "requested_date"),
            Col("Zusagetermin", "promised_date"), Col("Eingriffe", "manual_touches"),
            Col("Klärfall", "has_exception", codes=JN))),
        FileSpec("auftragspositionen", "order_lines", "auftraege/positionen_{month}.csv", (
            Col("AuftragsNr", "order_id"), Col("Pos", "line_number"), Col("ArtNr", "sku"),
            Col("Menge", "quantity_ordered"), Col("Liefermenge", "quantity_shipped"),
            Col("Preis", "unit_price"),
            Col("Rabatt %", lambda f: np.round(f.discount_pct * 100, 1), "float"),
            Col("Lager", "location_id"), Col("Auftragsdatum", "order_date"),
            Col("Zusagetermin", "promised_date"), Col("Aktion", "is_promo", codes=JN),
            Col("LieferscheinNr", "_shipment_id"), Col("Versanddatum", "_ship_date"),
            Col("Zustelldatum", "_delivered_date"), Col("Spediteur", "_carrier"),
            Col("Komplett", "_is_complete", codes=JN)),
            feeds={
                "order_lines": {"expressions": {
                    "discount_pct": 'col("Rabatt %") / 100',
                    "net_amount": 'round(Menge * Preis * (1 - col("Rabatt %") / 100), 2)'}},
                "shipments": {"where": 'Pos == 1 and coalesce(LieferscheinNr, "") != ""'},
            }),
        FileSpec("bestand", "inventory_snapshots", "bestand/bestand_{month}.csv", (
            Col("Stichtag", "snapshot_date"), Col("ArtNr", "sku"), Col("Lager", "location_id"),
            Col("Bestand", "on_hand_qty"), Col("Reserviert", "allocated_qty"),
            Col("Bestellt", "on_order_qty"), Col("Sicherheitsbestand", "safety_stock_qty"))),
        FileSpec("bestellungen", "purchase_orders", "einkauf/bestellungen_{month}.csv", (
            Col("BestellNr", "po_id"), Col("Pos", "line_number"), Col("LiefNr", "supplier_id"),
            Col("ArtNr", "sku"), Col("Lager", "location_id"), Col("Bestelldatum", "order_date"),
            Col("Liefertermin", "expected_date"), Col("AB-Datum", "acknowledged_date"),
            Col("WE-Datum", "received_date"), Col("Bestellmenge", "quantity_ordered"),
            Col("WE-Menge", "quantity_received"), Col("EK-Preis", "unit_cost"),
            Col("Status", "status", codes={
                "open": "OF", "acknowledged": "BE", "partially_received": "TL",
                "received": "GE", "cancelled": "ST"}))),
        FileSpec("rechnungen", "invoices", "fibu/rechnungen_{month}.csv", (
            Col("RechnungsNr", "invoice_id"), Col("KdNr", "customer_id"),
            Col("AuftragsNr", "order_id"), Col("Rechnungsdatum", "invoice_date"),
            Col("Fällig am", "due_date"), Col("Betrag", "amount"), Col("Währung", "currency"),
            Col("Status", "status", codes={
                "open": "OF", "paid": "BZ", "partially_paid": "TZ", "disputed": "RK",
                "void": "ST", "written_off": "AB"}),
            Col("Reklamation", "is_disputed", codes=JN))),
        FileSpec("zahlungen", "payments", "fibu/zahlungen_{month}.csv", (
            Col("ZahlungsNr", "payment_id"), Col("RechnungsNr", "invoice_id"),
            Col("KdNr", "customer_id"), Col("Valuta", "payment_date"), Col("Betrag", "amount"))),
        FileSpec("verkaufschancen", "opportunities", "crm/verkaufschancen.csv", (
            Col("ChanceNr", "opportunity_id"), Col("KdNr", "customer_id"),
            Col("Angelegt", "created_date"), Col("Abschluss", "close_date"),
            Col("Phase", "stage", codes={
                "prospecting": "1-Lead", "qualification": "2-Qualifiziert",
                "proposal": "3-Angebot", "negotiation": "4-Verhandlung", "won": "5-Gewonnen",
                "lost": "6-Verloren"}),
            Col("Volumen", "amount"), Col("Vertriebler", "owner"))),
        FileSpec("tickets", "tickets", "service/tickets_{month}.csv", (
            Col("TicketNr", "ticket_id"), Col("KdNr", "customer_id"),
            Col("Erstellt", "created_at"), Col("Erste Antwort", "first_response_at"),
            Col("Gelöst", "resolved_at"),
            Col("Priorität", "priority", codes={"urgent": "1-Kritisch", "high": "2-Hoch",
                                                "normal": "3-Normal", "low": "4-Niedrig"}),
            Col("Kanal", "channel", codes={"email": "E-Mail", "phone": "Telefon", "chat": "Chat",
                                           "portal": "Portal", "other": "Sonstige"}),
            Col("Kategorie", "category"), Col("Kontakte", "contacts_to_resolve"),
            Col("SLA fällig", "sla_due_at"), Col("Zufriedenheit", "csat"),
            Col("ProjektNr", "project_id"))),
        FileSpec("workflow", "workflow_runs", "workflow/laeufe_{month}.csv", (
            Col("LaufID", "run_id"), Col("Prozess", "workflow_name"), Col("Start", "started_at"),
            Col("Ende", "finished_at"),
            Col("Ergebnis", "status", codes={
                "succeeded": "OK", "failed": "FEHLER", "exception": "AUSNAHME",
                "running": "LAEUFT", "cancelled": "ABBRUCH"}),
            Col("Ausnahme", "exception_type"), Col("Eingriffe", "manual_touches"),
            Col("Freigabe nötig", "approval_required", codes=JN),
            Col("Freigegeben", "approval_given", codes=JN),
            Col("KI", "ai_assisted", codes=JN), Col("KI-Konfidenz", "model_confidence"),
            Col("AuftragsNr", "order_id"))),
        FileSpec("partner", "partners", "projekte/partner.csv", (
            Col("PartnerID", "partner_id"), Col("Partnername", "partner_name"),
            Col("Region", "region"))),
        FileSpec("projekte", "projects", "projekte/projekte.csv", (
            Col("ProjektNr", "project_id"), Col("PartnerID", "partner_id"),
            Col("Projektname", "project_name"), Col("Projektart", "project_type"),
            Col("Start", "start_date"), Col("Go-Live geplant", "planned_go_live_date"),
            Col("Go-Live ist", "actual_go_live_date"),
            Col("Status", "status", codes={
                "planned": "GEPLANT", "in_progress": "AKTIV", "live": "PRODUKTIV",
                "on_hold": "PAUSIERT", "cancelled": "ABGEBROCHEN"}),
            Col("Budget Std", "budget_hours"), Col("Ist Std", "spent_hours"),
            Col("Änderungsanträge", "scope_changes"))),
        FileSpec("meilensteine", "milestones", "projekte/meilensteine.csv", (
            Col("MeilensteinNr", "milestone_id"), Col("ProjektNr", "project_id"),
            Col("Meilenstein", "milestone_name"), Col("Reihenfolge", "sequence"),
            Col("Plantermin", "planned_date"), Col("Isttermin", "actual_date"),
            Col("Status", "status", codes={"pending": "OFFEN", "in_progress": "IN_ARBEIT",
                                           "done": "ERLEDIGT", "skipped": "ENTFALLEN"}))),
    ),
)

# --------------------------------------------------------------------------- bluepeak (JSONL)

BLUEPEAK = Dialect(
    name="bluepeak", format="jsonl", timestamp_format="%Y-%m-%dT%H:%M:%SZ",
    date_format="%Y-%m-%d", timezone="UTC",
    files=(
        FileSpec("shop_customers", "customers", "shop/customers.jsonl", (
            Col("customerId", "customer_id"), Col("displayName", "customer_name"),
            Col("tier", "segment"), Col("country", "region"), Col("signupDate", "created_date"),
            Col("accountState", "status", codes={"active": "enabled", "inactive": "disabled",
                                                 "blocked": "blocked"}))),
        FileSpec("shop_products", "products", "shop/products.jsonl", (
            Col("productSku", "sku"), Col("title", "product_name"),
            Col("collection", "category"), Col("vendorId", "supplier_id"),
            Col("costPrice", "unit_cost"), Col("msrp", "list_price"),
            Col("leadTimeDays", "lead_time_days"), Col("isActive", "is_active"))),
        FileSpec("shop_warehouses", "locations", "shop/warehouses.jsonl", (
            Col("warehouseCode", "location_id"), Col("warehouseName", "location_name"),
            Col("kind", "location_type", codes={"distribution_center": "fulfilment_center",
                                                "3pl": "third_party"}),
            Col("country", "region"))),
        FileSpec("shop_orders", "orders", "shop/orders/orders-{month}.jsonl", (
            Col("orderId", "order_id"), Col("customerId", "customer_id"),
            Col("orderDate", "order_date"), Col("totalNet", "order_amount"),
            Col("currencyCode", "currency"),
            Col("salesChannel", "channel", codes={"web": "online_store",
                                                  "marketplace": "marketplace"}),
            Col("fulfillmentStatus", "status", codes={
                "open": "unfulfilled", "allocated": "picking", "shipped": "in_transit",
                "delivered": "delivered", "cancelled": "cancelled", "backordered": "backorder",
                "returned": "returned"}),
            Col("warehouseCode", "location_id"),
            Col("requestedDeliveryDate", "requested_date"),
            Col("promisedDeliveryDate", "promised_date"), Col("manualTouches", "manual_touches"),
            Col("flagged", "has_exception"))),
        FileSpec("shop_order_items", "order_lines", "shop/orders/order-items-{month}.jsonl", (
            Col("orderId", "order_id"), Col("lineNo", "line_number"), Col("sku", "sku"),
            Col("qty", "quantity_ordered"), Col("qtyFulfilled", "quantity_shipped"),
            Col("unitPrice", "unit_price"), Col("discountRate", "discount_pct"),
            Col("lineTotal", "net_amount"), Col("warehouseCode", "location_id"),
            Col("orderDate", "order_date"), Col("promisedDeliveryDate", "promised_date"),
            Col("onPromotion", "is_promo"))),
        FileSpec("shop_fulfillments", "shipments", "shop/fulfillments/fulfillments-{month}.jsonl", (
            Col("fulfillmentId", "shipment_id"), Col("orderId", "order_id"),
            Col("shippedOn", "ship_date"), Col("deliveredOn", "delivered_date"),
            Col("promisedBy", "promised_date"), Col("carrier", "carrier"),
            Col("warehouseCode", "location_id"), Col("isComplete", "is_complete"))),
        FileSpec("stock_levels", "inventory_snapshots", "inventory/stock-levels-{month}.jsonl", (
            Col("date", "snapshot_date"), Col("sku", "sku"), Col("warehouseCode", "location_id"),
            Col("onHand", "on_hand_qty"), Col("reserved", "allocated_qty"),
            Col("incoming", "on_order_qty"), Col("safetyStock", "safety_stock_qty"))),
        FileSpec("purchasing", "purchase_orders", "purchasing/po-lines-{month}.jsonl", (
            Col("poNumber", "po_id"), Col("lineNo", "line_number"), Col("vendorId", "supplier_id"),
            Col("sku", "sku"), Col("warehouseCode", "location_id"),
            Col("orderedOn", "order_date"), Col("expectedOn", "expected_date"),
            Col("acknowledgedOn", "acknowledged_date"), Col("receivedOn", "received_date"),
            Col("qtyOrdered", "quantity_ordered"), Col("qtyReceived", "quantity_received"),
            Col("unitCost", "unit_cost"),
            Col("state", "status", codes={"open": "open", "acknowledged": "confirmed",
                                          "partially_received": "partial",
                                          "received": "received", "cancelled": "cancelled"}))),
        FileSpec("helpdesk", "tickets", "helpdesk/tickets-{month}.jsonl", (
            Col("id", "ticket_id"), Col("requester_id", "customer_id"),
            Col("created_at", "created_at"), Col("first_reply_at", "first_response_at"),
            Col("solved_at", "resolved_at"), Col("priority", "priority"),
            Col("via", "channel", codes={"email": "email", "phone": "voice", "chat": "chat",
                                         "portal": "web", "other": "api"}),
            Col("topic", "category"), Col("replies", "contacts_to_resolve"),
            Col("due_at", "sla_due_at"), Col("satisfaction_score", "csat"),
            Col("project_ref", "project_id"))),
        FileSpec("automation", "workflow_runs", "automation/runs-{month}.jsonl", (
            Col("runId", "run_id"), Col("flow", "workflow_name"),
            Col("startedAt", "started_at"), Col("endedAt", "finished_at"),
            Col("outcome", "status", codes={
                "succeeded": "success", "failed": "error", "exception": "needs_review",
                "running": "running", "cancelled": "aborted"}),
            Col("errorCode", "exception_type"), Col("humanSteps", "manual_touches"),
            Col("approvalNeeded", "approval_required"), Col("approved", "approval_given"),
            Col("aiAssist", "ai_assisted"), Col("aiConfidence", "model_confidence"),
            Col("orderRef", "order_id"))),
        FileSpec("pmo_partners", "partners", "pmo/partners.jsonl", (
            Col("partnerId", "partner_id"), Col("name", "partner_name"),
            Col("region", "region"))),
        FileSpec("pmo_projects", "projects", "pmo/projects.jsonl", (
            Col("projectId", "project_id"), Col("partnerId", "partner_id"),
            Col("name", "project_name"), Col("type", "project_type"),
            Col("kickoff", "start_date"), Col("plannedLaunch", "planned_go_live_date"),
            Col("actualLaunch", "actual_go_live_date"), Col("state", "status"),
            Col("budgetHours", "budget_hours"), Col("loggedHours", "spent_hours"),
            Col("changeRequests", "scope_changes"))),
        FileSpec("pmo_milestones", "milestones", "pmo/milestones.jsonl", (
            Col("milestoneId", "milestone_id"), Col("projectId", "project_id"),
            Col("name", "milestone_name"), Col("seq", "sequence"),
            Col("dueDate", "planned_date"), Col("completedDate", "actual_date"),
            Col("state", "status"))),
    ),
)

# --------------------------------------------------------------------------- harbor (Parquet)

HARBOR = Dialect(
    name="harbor", format="parquet", timezone="America/New_York", month_fmt="%Y%m%d",
    files=(
        FileSpec("ar_customer", "customers", "erp/AR_CUSTOMER.parquet", (
            Col("CUST_NO", "customer_id"), Col("CUST_NAME", "customer_name"),
            Col("CUST_CLASS", "segment"), Col("STATE", "region"),
            Col("OPEN_DATE", "created_date"),
            Col("CUST_STATUS", "status", codes={"active": "A", "inactive": "I",
                                                "blocked": "H"}))),
        FileSpec("im_item", "products", "erp/IM_ITEM.parquet", (
            Col("ITEM_NO", "sku"), Col("ITEM_DESC", "product_name"),
            Col("PROD_LINE", "category"), Col("PRIMARY_VENDOR", "supplier_id"),
            Col("STD_COST", "unit_cost"), Col("LIST_PRICE", "list_price"),
            Col("LEAD_DAYS", "lead_time_days"), Col("ACTIVE_FLAG", "is_active", codes=YN))),
        FileSpec("im_whse", "locations", "erp/IM_WHSE.parquet", (
            Col("WHSE_CODE", "location_id"), Col("WHSE_NAME", "location_name"),
            Col("WHSE_TYPE", "location_type", codes={"distribution_center": "DC",
                                                     "warehouse": "BR"}),
            Col("REGION", "region"))),
        FileSpec("so_header", "orders", "erp/so_header/SO_HEADER_{month}.parquet", (
            Col("SO_NO", "order_id"), Col("CUST_NO", "customer_id"),
            Col("ORDER_DT", "order_date"), Col("ORDER_TOTAL", "order_amount"),
            Col("CURR_CODE", "currency"),
            Col("ORDER_SOURCE", "channel", codes={
                "edi": "EDI", "sales_rep": "REP", "phone": "PHN", "email": "EML", "web": "WEB",
                "marketplace": "MKT", "pos": "CTR", "other": "OTH"}),
            Col("SO_STATUS", "status", codes={
                "open": "O", "allocated": "A", "shipped": "S", "delivered": "D",
                "cancelled": "X", "backordered": "B", "returned": "R"}),
            Col("WHSE_CODE", "location_id"), Col("REQUEST_DT", "requested_date"),
            Col("PROMISE_DT", "promised_date"), Col("TOUCH_CNT", "manual_touches"),
            Col("EXCEPTION_FLAG", "has_exception", codes=YN))),
        FileSpec("so_line", "order_lines", "erp/so_line/SO_LINE_{month}.parquet", (
            Col("SO_NO", "order_id"), Col("LINE_NO", "line_number"), Col("ITEM_NO", "sku"),
            Col("QTY_ORD", "quantity_ordered"), Col("QTY_SHIP", "quantity_shipped"),
            Col("UNIT_PRICE", "unit_price"), Col("DISC_PCT", "discount_pct"),
            Col("EXT_AMOUNT", "net_amount"), Col("WHSE_CODE", "location_id"),
            Col("ORDER_DT", "order_date"), Col("PROMISE_DT", "promised_date"),
            Col("PROMO_FLAG", "is_promo", codes=YN))),
        FileSpec("so_shipment", "shipments", "erp/so_shipment/SO_SHIPMENT_{month}.parquet", (
            Col("SHIP_NO", "shipment_id"), Col("SO_NO", "order_id"), Col("SHIP_DT", "ship_date"),
            Col("DELIVERY_DT", "delivered_date"), Col("PROMISE_DT", "promised_date"),
            Col("CARRIER", "carrier"), Col("WHSE_CODE", "location_id"),
            Col("SHIP_COMPLETE", "is_complete", codes=YN))),
        FileSpec("im_daily_bal", "inventory_snapshots",
                 "erp/im_daily_bal/IM_DAILY_BAL_{month}.parquet", (
                     Col("SNAP_DT", "snapshot_date"), Col("ITEM_NO", "sku"),
                     Col("WHSE_CODE", "location_id"), Col("QTY_ON_HAND", "on_hand_qty"),
                     Col("QTY_ALLOC", "allocated_qty"), Col("QTY_ON_PO", "on_order_qty"),
                     Col("SAFETY_QTY", "safety_stock_qty"))),
        FileSpec("po_line", "purchase_orders", "erp/po_line/PO_LINE_{month}.parquet", (
            Col("PO_NO", "po_id"), Col("PO_LINE", "line_number"), Col("VENDOR_NO", "supplier_id"),
            Col("ITEM_NO", "sku"), Col("WHSE_CODE", "location_id"), Col("PO_DT", "order_date"),
            Col("DUE_DT", "expected_date"), Col("ACK_DT", "acknowledged_date"),
            Col("RECV_DT", "received_date"), Col("QTY_ORD", "quantity_ordered"),
            Col("QTY_RECV", "quantity_received"), Col("UNIT_COST", "unit_cost"),
            Col("PO_STATUS", "status", codes={
                "open": "OPEN", "acknowledged": "ACK", "partially_received": "PARTIAL",
                "received": "CLOSED", "cancelled": "VOID"}))),
        FileSpec("ar_invoice", "invoices", "erp/ar_invoice/AR_INVOICE_{month}.parquet", (
            Col("INV_NO", "invoice_id"), Col("CUST_NO", "customer_id"), Col("SO_NO", "order_id"),
            Col("INV_DT", "invoice_date"), Col("DUE_DT", "due_date"), Col("INV_AMT", "amount"),
            Col("CURR_CODE", "currency"),
            Col("AR_STATUS", "status", codes={
                "open": "OPEN", "paid": "PAID", "partially_paid": "PARTIAL",
                "disputed": "DISPUTE", "void": "VOID", "written_off": "WO"}),
            Col("DISPUTE_FLAG", "is_disputed"))),
        FileSpec("ar_cash_receipt", "payments",
                 "erp/ar_cash_receipt/AR_CASH_RECEIPT_{month}.parquet", (
                     Col("RCPT_NO", "payment_id"), Col("INV_NO", "invoice_id"),
                     Col("CUST_NO", "customer_id"), Col("RCPT_DT", "payment_date"),
                     Col("RCPT_AMT", "amount"))),
        FileSpec("crm_opportunity", "opportunities", "crm/CRM_OPPORTUNITY.parquet", (
            Col("OPP_ID", "opportunity_id"), Col("CUST_NO", "customer_id"),
            Col("CREATED_DT", "created_date"), Col("CLOSE_DT", "close_date"),
            Col("STAGE", "stage", codes={
                "prospecting": "Prospect", "qualification": "Qualify", "proposal": "Propose",
                "negotiation": "Negotiate", "won": "Closed Won", "lost": "Closed Lost"}),
            Col("AMOUNT", "amount"), Col("REP", "owner"))),
        FileSpec("cs_case", "tickets", "support/CS_CASE_{month}.parquet", (
            Col("CASE_NO", "ticket_id"), Col("CUST_NO", "customer_id"),
            Col("OPENED_TS", "created_at"), Col("FIRST_RESP_TS", "first_response_at"),
            Col("CLOSED_TS", "resolved_at"),
            Col("PRIORITY", "priority", codes={"urgent": "P1", "high": "P2", "normal": "P3",
                                               "low": "P4"}),
            Col("ORIGIN", "channel", codes={"email": "Email", "phone": "Phone", "chat": "Chat",
                                            "portal": "Web", "other": "Other"}),
            Col("CASE_TYPE", "category"), Col("TOUCHES", "contacts_to_resolve"),
            Col("SLA_DUE_TS", "sla_due_at"), Col("CSAT_SCORE", "csat"),
            Col("PROJECT_NO", "project_id"))),
        FileSpec("psa_partner", "partners", "psa/PSA_PARTNER.parquet", (
            Col("PARTNER_ID", "partner_id"), Col("PARTNER_NAME", "partner_name"),
            Col("REGION", "region"))),
        FileSpec("psa_project", "projects", "psa/PSA_PROJECT.parquet", (
            Col("PROJECT_NO", "project_id"), Col("PARTNER_ID", "partner_id"),
            Col("PROJECT_NAME", "project_name"), Col("PROJECT_TYPE", "project_type"),
            Col("START_DT", "start_date"), Col("GOLIVE_PLAN_DT", "planned_go_live_date"),
            Col("GOLIVE_ACT_DT", "actual_go_live_date"),
            Col("PROJECT_STATUS", "status", codes={
                "planned": "PLANNED", "in_progress": "ACTIVE", "live": "LIVE",
                "on_hold": "HOLD", "cancelled": "CANCELLED"}),
            Col("BUDGET_HRS", "budget_hours"), Col("ACTUAL_HRS", "spent_hours"),
            Col("CHANGE_ORDERS", "scope_changes"))),
        FileSpec("psa_milestone", "milestones", "psa/PSA_MILESTONE.parquet", (
            Col("MILESTONE_ID", "milestone_id"), Col("PROJECT_NO", "project_id"),
            Col("MILESTONE", "milestone_name"), Col("SEQ", "sequence"),
            Col("PLAN_DT", "planned_date"), Col("ACTUAL_DT", "actual_date"),
            Col("MS_STATUS", "status", codes={"pending": "OPEN", "in_progress": "WIP",
                                              "done": "DONE", "skipped": "SKIP"}))),
    ),
)

DIALECTS: dict[str, Dialect] = {"northwind": NORTHWIND, "bluepeak": BLUEPEAK, "harbor": HARBOR}


# --------------------------------------------------------------------------- YAML side

def entity_mapping(spec: FileSpec, entity: str) -> dict:
    """The ``sources.<name>.entities.<entity>`` mapping for one export."""
    opts = spec.fed()[entity]
    contract = CONTRACTS[entity]
    computed = set(opts.get("expressions", {})) | set(opts.get("constants", {}))
    columns: dict[str, str] = {}
    value_maps: dict[str, dict] = {}
    for c in spec.cols:
        if not isinstance(c.src, str):
            continue
        canon = c.src.lstrip("_")
        if canon not in contract.column_names or canon in computed or canon in columns:
            continue
        if c.src.startswith("_") and entity == spec.frame:
            continue
        columns[canon] = c.name
        if c.codes:
            value_maps[canon] = {code: val for val, code in c.codes.items()}
    out: dict = {"columns": columns}
    if value_maps:
        out["value_maps"] = value_maps
    for k in ("constants", "expressions", "where"):
        if opts.get(k):
            out[k] = opts[k]
    return out


def sources_yaml(dialect: Dialect, entities: tuple[str, ...]) -> dict:
    """The ``sources:`` section of a tenant YAML for ``dialect`` (only the given entities)."""
    out: dict = {}
    for spec in dialect.files:
        fed = {e: entity_mapping(spec, e) for e in spec.fed() if e in entities}
        if not fed:
            continue
        s: dict = {"kind": "file", "path": spec.out.replace("{month}", "*"),
                   "format": dialect.format}
        if dialect.format == "csv":
            s["csv"] = dict(dialect.csv)
        if dialect.date_format:
            s["date_format"] = dialect.date_format
        if dialect.timestamp_format:
            s["timestamp_format"] = dialect.timestamp_format
        if dialect.decimal_separator != ".":
            s["decimal_separator"] = dialect.decimal_separator
        if dialect.timezone:
            s["timezone"] = dialect.timezone
        s["entities"] = fed
        out[spec.source] = s
    return out


# --------------------------------------------------------------------------- writer side

def export_frame(dialect: Dialect, spec: FileSpec, df: pd.DataFrame) -> pd.DataFrame:
    """Canonical rows -> the tenant's export columns and codes (values still typed)."""
    out = {}
    for c in spec.cols:
        v = c.src(df) if callable(c.src) else df[c.src]
        v = pd.Series(v, index=df.index)
        if c.codes:
            v = v.astype(object).map(c.codes)
        out[c.name] = v
    return pd.DataFrame(out, index=df.index)


def write_frame(dialect: Dialect, spec: FileSpec, df: pd.DataFrame, path: Path) -> None:
    """Write one export file in the dialect's format (atomically: temp name, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ex = export_frame(dialect, spec, df)
    types = {c.name: (None if c.codes else _dtype(spec.frame, c)) for c in spec.cols}
    tmp = path.with_name(f".tmp-{path.name}.part")
    if dialect.format == "csv":
        _write_csv(dialect, ex, types, tmp)
    elif dialect.format == "jsonl":
        _write_jsonl(dialect, ex, types, tmp)
    else:
        _write_parquet(ex, types, tmp)
    tmp.replace(path)


def _pylist(s: pd.Series, cast) -> list:
    return [None if x is None or x is pd.NA or x != x else cast(x) for x in s.tolist()]


def _to_polars(d: Dialect, ex: pd.DataFrame, types: dict):
    """Typed polars frame with dates/timestamps already formatted in the dialect's format."""
    import polars as pl

    cols = []
    for name, t in types.items():
        s = ex[name]
        if t in ("date", "timestamp"):
            fmt = d.date_format if t == "date" else d.timestamp_format
            dtt = pd.to_datetime(s)
            ser = pl.from_pandas(dtt.astype("datetime64[us]")).dt.strftime(fmt)
        elif t == "int":
            ser = pl.from_pandas(pd.to_numeric(s).astype(float)).cast(pl.Int64)
        elif t == "float":
            ser = pl.from_pandas(pd.to_numeric(s).astype(float), nan_to_null=True)
        elif t == "bool":
            ser = pl.Series(name, _pylist(s, bool), dtype=pl.Boolean)
        else:
            ser = pl.Series(name, _pylist(s, str), dtype=pl.String)
        cols.append(ser.alias(name))
    return pl.DataFrame(cols)


def _write_csv(d: Dialect, ex: pd.DataFrame, types: dict, path: Path) -> None:
    import polars as pl

    df = _to_polars(d, ex, types)
    if d.decimal_separator != ".":
        df = df.with_columns([
            pl.col(n).cast(pl.String).str.replace(".", d.decimal_separator, literal=True)
            for n, t in types.items() if t == "float"])
    text = df.write_csv(separator=d.csv["delimiter"], null_value="", line_terminator="\r\n")
    path.write_bytes(text.encode(d.csv["encoding"]))


def _write_jsonl(d: Dialect, ex: pd.DataFrame, types: dict, path: Path) -> None:
    _to_polars(d, ex, types).write_ndjson(path)


def _write_parquet(ex: pd.DataFrame, types: dict, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays, fields = [], []
    for name, t in types.items():
        s = ex[name]
        if t == "date":
            d = pd.to_datetime(s)
            arr = pa.array(d.dt.date.where(d.notna(), None).tolist(), type=pa.date32())
        elif t == "timestamp":
            d = pd.to_datetime(s)
            arr = pa.array(d.dt.to_pydatetime().tolist(), type=pa.timestamp("us"),
                           mask=d.isna().to_numpy())
        elif t == "int":
            arr = pa.array(_pylist(pd.to_numeric(s), int), type=pa.int64())
        elif t == "float":
            f = pd.to_numeric(s).astype(float)
            arr = pa.array(f.to_numpy(), type=pa.float64(), mask=f.isna().to_numpy())
        elif t == "bool":
            arr = pa.array([None if x is None or x != x else bool(x) for x in s.tolist()],
                           type=pa.bool_())
        else:
            arr = pa.array([None if x is None or x != x else str(x) for x in s.tolist()],
                           type=pa.string())
        arrays.append(arr)
        fields.append(pa.field(name, arr.type))
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    pq.write_table(table, path, compression="zstd")
