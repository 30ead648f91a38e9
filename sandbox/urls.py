from django.urls import path, re_path

from . import (
    approvalmax_reads,
    attachments,
    bills,
    bills_billcom,
    bills_qbo,
    lists_billcom,
    lists_qbo,
    lists_xero,
    views,
)

app_name = "sandbox"
urlpatterns = [
    path("", views.home, name="home"),
    path("revoke/", views.revoke, name="revoke"),
    # Xero (identity.xero.com / api.xero.com)
    path("xero/identity/connect/authorize", views.authorize, {"provider": "xero"}, name="xero_authorize"),
    path("xero/identity/connect/token", views.token, {"provider": "xero"}, name="xero_token"),
    path("xero/identity/connect/revocation", views.xero_revocation, name="xero_revocation"),
    path("xero/connections", views.xero_connections, name="xero_connections"),
    path("xero/connections/<str:connection_id>", views.xero_connections, name="xero_connection"),
    path("xero/api.xro/2.0/Invoices", bills.xero_invoices, name="xero_invoices"),
    path("xero/api.xro/2.0/CreditNotes", bills.xero_credit_notes, name="xero_credit_notes"),
    path(
        "xero/api.xro/2.0/Invoices/<str:document_id>/Attachments/<str:file_name>",
        attachments.xero_invoice_attachment,
        name="xero_invoice_attachment",
    ),
    path(
        "xero/api.xro/2.0/CreditNotes/<str:document_id>/Attachments/<str:file_name>",
        attachments.xero_credit_note_attachment,
        name="xero_credit_note_attachment",
    ),
    path("xero/api.xro/2.0/Organisation", bills.xero_organisation, name="xero_organisation"),
    # Xero's web app, as far as a deep link goes (XERO_APP_URL)
    re_path(r"^xero/go/(?P<page>.+)$", bills.xero_go, name="xero_go"),
    path("xero/api.xro/2.0/Accounts", lists_xero.xero_accounts, name="xero_accounts"),
    path("xero/api.xro/2.0/TaxRates", lists_xero.xero_tax_rates, name="xero_tax_rates"),
    path("xero/api.xro/2.0/Contacts", lists_xero.xero_contacts, name="xero_contacts"),
    # QuickBooks Online (appcenter.intuit.com / oauth.platform.intuit.com / quickbooks.api.intuit.com)
    path("qbo/connect/oauth2", views.authorize, {"provider": "qbo"}, name="qbo_authorize"),
    path("qbo/oauth2/v1/tokens/bearer", views.token, {"provider": "qbo"}, name="qbo_token"),
    path("qbo/v2/oauth2/tokens/revoke", views.qbo_revoke, name="qbo_revoke"),
    path(
        "qbo/v3/company/<str:realm_id>/companyinfo/<str:realm_again>",
        views.qbo_company_info,
        name="qbo_company_info",
    ),
    re_path(
        r"^qbo/v3/company/(?P<realm_id>[^/]+)/(?P<entity>bill|vendorcredit|purchase|invoice)$",
        bills_qbo.qbo_create,
        name="qbo_create",
    ),
    path("qbo/v3/company/<str:realm_id>/upload", attachments.qbo_upload, name="qbo_upload"),
    path("qbo/v3/company/<str:realm_id>/query", lists_qbo.qbo_query, name="qbo_query"),
    path("qbo/v3/company/<str:realm_id>/vendor", lists_qbo.qbo_vendor, name="qbo_vendor"),
    # ApprovalMax
    path(
        "approvalmax/connect/authorize",
        views.authorize,
        {"provider": "approvalmax"},
        name="approvalmax_authorize",
    ),
    path("approvalmax/connect/token", views.token, {"provider": "approvalmax"}, name="approvalmax_token"),
    path("approvalmax/api/v1/companies", views.approvalmax_companies, name="approvalmax_companies"),
    path(
        "approvalmax/api/v1/companies/<str:company_id>/xero/bills",
        approvalmax_reads.approvalmax_bills,
        name="approvalmax_bills",
    ),
    path(
        "approvalmax/api/v1/companies/<str:company_id>/xero/bills/<str:request_id>",
        approvalmax_reads.approvalmax_bills,
        name="approvalmax_bill",
    ),
    # Bill.com API v3
    path("billcom/connect/v3/login", views.billcom_login, name="billcom_login"),
    path("billcom/connect/v3/login/session", views.billcom_session, name="billcom_session"),
    path(
        "billcom/connect/v3/login/organizations",
        views.billcom_login_organisations,
        name="billcom_login_organisations",
    ),
    path(
        "billcom/connect/v3/organizations/<str:organisation_id>",
        views.billcom_organisation,
        name="billcom_organisation",
    ),
    path("billcom/connect/v3/bills", bills_billcom.billcom_bills, name="billcom_bills"),
    path(
        "billcom/connect/v3/documents/bills/<str:bill_id>",
        attachments.billcom_bill_documents,
        name="billcom_bill_documents",
    ),
    path(
        "billcom/connect/v3/classifications/chart-of-accounts",
        lists_billcom.billcom_chart_of_accounts,
        name="billcom_chart_of_accounts",
    ),
    path("billcom/connect/v3/vendors", lists_billcom.billcom_vendors, name="billcom_vendors"),
    # QuickBooks Online's web app, as far as a deep link goes (QBO_APP_URL)
    path("qbo/app/<str:entity>", bills.qbo_app, name="qbo_app"),
    # QuickBooks Web Connector (drives our /qbwc/)
    path("webconnector/run/", views.webconnector_run, name="webconnector_run"),
]
