"""Page-numbered lists that refuse a malformed page or page size."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.settings import api_settings


class Pagination(PageNumberPagination):
    """Pages of 50 (``PAGE_SIZE``); ``?page_size=`` up to 500. A ``page`` or ``page_size``
    that is not a whole number is a 400; a page past the last, a 404."""

    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_number(self, request, paginator) -> int:
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        if raw in self.last_page_strings:
            return paginator.num_pages
        if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
            raise exceptions.ValidationError(
                {self.page_query_param: ["A page number: 1, 2, 3..."]}
            )
        return int(raw)  # past the last page: DRF's 404

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size or api_settings.PAGE_SIZE or 50
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise exceptions.ValidationError(
                {self.page_size_query_param: [
                    f"A whole number from 1 to {self.max_page_size}."
                ]}
            )
        return size

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters
