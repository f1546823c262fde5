from typing import Any

from django.core.paginator import Page, Paginator
from django.utils.translation import gettext_lazy as _
from rest_framework.pagination import PageNumberPagination


class WindowPaginator(Paginator):
    """Django's Paginator, which first tells a list that can read its count together with a page
    (`expect(start, stop)`, as tasks.inbox.AssignmentRows can) which page is coming: the count
    then costs no statement of its own. Querysets are paginated exactly as before."""

    def page(self, number: Any) -> Page:
        expect = getattr(self.object_list, "expect", None)
        if expect is not None and "count" not in self.__dict__:
            try:
                wanted = int(number)
            except (TypeError, ValueError):
                wanted = 0  # validate_number refuses it below, as always
            if wanted >= 1:
                expect((wanted - 1) * self.per_page, wanted * self.per_page)
        return super().page(number)


class DefaultPagination(PageNumberPagination):
    django_paginator_class = WindowPaginator
    page_size_query_param = "page_size"
    max_page_size = 500
    # "{page_number}" and "{message}" are filled in by DRF; a page past the end is a 404 that says so.
    invalid_page_message = _("Page {page_number} does not exist: {message}")  # type: ignore[assignment]  # lazy, translated per request
