"""The QuickBooks Web Connector's SOAP endpoint (the AppURL in each customer's .qwc file).

Thin: integrations/providers/qbd.py reads and answers the SOAP calls, integrations/services.py decides
what they mean for the connection.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from accounts.throttling import SignInGuard

from .providers import qbd

SOAP_CONTENT_TYPE = "text/xml; charset=utf-8"


@csrf_exempt  # The Web Connector is a SOAP client with no cookies; it signs in with its own password.
def qbwc(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(
            "Dext Connect QuickBooks Web Connector service. Add the .qwc file from Business settings > "
            "Connections to your Web Connector.",
            content_type="text/plain",
        )
    try:
        method, params = qbd.parse_call(request.body)
        # `authenticate` is throttled per Web Connector user name and per address (accounts/throttling.py).
        result = qbd.dispatch(method, params, guard=SignInGuard(request, surface="qbwc"))
    except qbd.SoapFault as exc:
        return HttpResponse(qbd.fault(str(exc)), content_type=SOAP_CONTENT_TYPE, status=500)
    return HttpResponse(qbd.envelope(method, result), content_type=SOAP_CONTENT_TYPE)
