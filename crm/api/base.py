"""What every Rulecast API view shares: permissions, JSON bodies, paging, throttles and
the schema's documented errors.

The apps' viewsets (crm, segmentation, campaigns) set these themselves through
``RulecastViewMixin`` rather than relying on the host project's ``REST_FRAMEWORK``
defaults, so installing the plugin never makes its data readable by any logged-in user.
"""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication, TokenAuthentication

from .pagination import Pagination
from .parsers import LimitedJSONParser
from .permissions import ModelPermissions
from .schema import RulecastAutoSchema
from .throttling import current_throttles

# A token (``Authorization: Token ...``) or the admin's session, whatever the host's
# DEFAULT_AUTHENTICATION_CLASSES say.
AUTHENTICATION_CLASSES = [TokenAuthentication, SessionAuthentication]


class RulecastViewMixin:
    """Permissions, paging, throttling and schema of every Rulecast API view."""

    authentication_classes = AUTHENTICATION_CLASSES
    permission_classes = [ModelPermissions]
    parser_classes = [LimitedJSONParser]  # size and depth limits: 400, never 500
    pagination_class = Pagination
    schema = RulecastAutoSchema()
    # Any path segment reaches the view, so a malformed id is a JSON 404 like an unknown one.
    lookup_value_regex = "[^/]+"
    # action name -> permissions it needs instead of the method's (see ModelPermissions)
    action_permissions: dict[str, list[str]] = {}

    def get_throttles(self) -> list:
        return current_throttles()

    def initial(self, request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        repeated = {name: ["Give this parameter once."]
                    for name, values in request.query_params.lists() if len(values) > 1}
        if repeated:
            raise exceptions.ValidationError(repeated)
