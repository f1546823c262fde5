from django.utils.translation import gettext_lazy as _
from rest_framework.pagination import PageNumberPagination


class DefaultPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500
    # "{page_number}" and "{message}" are filled in by DRF; a page past the end is a 404 that says so.
    invalid_page_message = _("Page {page_number} does not exist: {message}")  # type: ignore[assignment]  # lazy, translated per request
