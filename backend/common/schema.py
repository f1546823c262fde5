"""OpenAPI descriptions of the project's own DRF building blocks (drf-spectacular extensions)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class SessionScheme(OpenApiAuthenticationExtension):
    """common.authentication.SessionAuthentication is DRF's session login with Chinese refusals."""

    target_class = "common.authentication.SessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
