"""Alerts: what the rules found for this tenant, what waits for approval, what was delivered.

People whose role the tenant's ``approval_policy.roles`` lists (or whose e-mail is one of its
``approvers``) approve, reject with a reason, or edit and approve; everyone else sees the list
read-only. Reads and writes go through :mod:`tenantlake.alerts` with this page's tenant only.
"""

import json

import streamlit as st

from dashboards import branding, session
from tenantlake.alerts import access, outbox

ctx = session.current()
branding.banner(ctx.brand, "Alerts")
tenant = ctx.tenant
if not ctx.scope.allows(tenant.id):  # app.py only offers tenants in scope; never trust that
    st.error("This tenant is not in your scope.")
    st.stop()

figures = access.delivery_figures(tenant.id)
if figures["held"]:
    st.warning(f"Alerts for {tenant.display_name} are **held**: nothing is sent until this is "
               f"fixed. Why: {figures['held']}", icon=":material/pause_circle:")

c1, c2, c3, c4, c5 = st.columns(5)
c1.metric("Waiting for approval", figures[outbox.PENDING])
c2.metric("Delivered", figures[outbox.DELIVERED])
c3.metric("Retrying", figures[outbox.RETRY_WAIT] + figures[outbox.DEST_REJECTED])
c4.metric("Dead letters", figures[outbox.DEAD_LETTER])
c5.metric("Rejected", figures[outbox.REJECTED])

if not figures["alerts"]:
    rules = ", ".join(r.name for r in tenant.alerts.rules) or "none"
    st.info(f"No alerts yet for {tenant.display_name} (rules: {rules}). They are built after "
            "each scoring run, or with `tenantlake alerts build`.",
            icon=":material/notifications_off:")
    st.stop()

states = st.multiselect("States", list(outbox.STATES), default=[], key="tl_alert_states",
                        placeholder="All states")
table = access.alerts_frame(tenant.id, states or None)
st.dataframe(table, hide_index=True, width="stretch", column_config={
    "alert_id": "Alert", "state": "State", "rule": "Rule", "channel": "Channel",
    "entity": "Entity", "window": "Window",
    "score": st.column_config.NumberColumn("Score", format="%.3f"),
    "model_version": "Model version", "reasons": "Reasons", "attempts": "Attempts",
    "last_error": "Last error", "state_reason": "Note", "approved_by": "Approved by",
    "created_at": "Created", "delivered_at": "Delivered"})

st.subheader("Review")
user = ctx.user
can = access.may_approve(tenant, user.role, user.email)
pending = access.alerts_frame(tenant.id, [outbox.PENDING])
if pending.empty:
    st.success("Nothing waits for approval.", icon=":material/check_circle:")
    st.stop()
if not can:
    st.info(f"{len(pending)} alert(s) wait for approval. Your role ({user.role_label}) may view "
            "them but not approve; approvers: "
            + (", ".join(tenant.approval_policy.approvers) or "the roles "
               + ", ".join(tenant.approval_policy.roles)), icon=":material/lock:")
    st.stop()

choice = st.selectbox("Alert", pending["alert_id"].tolist(), key="tl_alert_pick",
                      format_func=lambda a: " · ".join(
                          str(v) for v in pending.loc[pending["alert_id"] == a,
                                                      ["rule", "entity", "window"]].iloc[0]))
alert = outbox.get(choice)
if alert.tenant_id != tenant.id:  # ids come from this tenant's list; refuse anything else
    st.error("This alert belongs to another tenant.")
    st.stop()
left, right = st.columns([3, 2])
with left:
    st.markdown(f"**{alert.payload.get('title', alert.rule)}** — channel `{alert.channel}`")
    for r in alert.reasons:
        st.markdown(f"- {r}")
    st.caption(f"From {alert.source_ref}; model {alert.model_name or '-'} "
               f"v{alert.model_version or '-'}; payload hash {alert.payload_hash[:12]}")
    edited = st.text_area("Payload (edit to change what is sent)",
                          json.dumps(alert.payload, indent=2, ensure_ascii=False), height=260,
                          key=f"tl_alert_payload_{alert.alert_id}")
with right:
    actor = f"{user.id} <{user.email}>" if user.email else user.id
    reason = st.text_input("Reason (for a rejection)", key=f"tl_alert_reason_{alert.alert_id}")
    approve = st.button("Approve", type="primary", key="tl_alert_approve")
    reject = st.button("Reject", key="tl_alert_reject")
    try:
        new_payload = json.loads(edited)
    except ValueError as exc:
        new_payload = None
        st.error(f"The payload is not valid JSON: {exc}")
    if approve and new_payload is not None:
        try:
            changed = new_payload != alert.payload
            outbox.approve(alert.alert_id, actor, payload=new_payload if changed else None)
            st.success("Edited and approved." if changed else "Approved.")
            st.rerun()
        except outbox.AlertError as exc:
            st.error(str(exc))
    if reject:
        if not reason.strip():
            st.error("Give a reason to reject.")
        else:
            try:
                outbox.reject(alert.alert_id, actor, reason)
                st.success("Rejected.")
                st.rerun()
            except outbox.AlertError as exc:
                st.error(str(exc))
