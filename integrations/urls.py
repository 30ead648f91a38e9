"""Business settings > Connections (urls_pages) and the connect flows (urls_connect)."""

from .urls_connect import urlpatterns as connect_urlpatterns
from .urls_pages import urlpatterns as page_urlpatterns

app_name = "integrations"
urlpatterns = [*page_urlpatterns, *connect_urlpatterns]
