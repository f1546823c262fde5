"""JWTs that end when the account's credentials change: a token-version claim, checked on every use.

Every access and refresh token carries `ver`, the account's `token_version` when it was issued.
The version goes up when the password changes or is reset, when the account is deactivated and when
its last membership is removed (orgs.models.User, orgs.services.membership_delete); from then on,
JWTAuthentication refuses its access tokens and the refresh endpoint its refresh tokens. Why not
simplejwt's blacklist with rotation: it ends refresh tokens only (access tokens would live on for
JWT_ACCESS_MINUTES), needs a database row per token issued, and "end everything this account holds"
would mean listing its outstanding tokens; a version is one integer the authentication already
loads with the user, and one UPDATE ends everything. Sessions hash the version in too.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken, Token

VERSION_CLAIM = "ver"
ENDED = _(
    "This login has ended (the password was changed, or the account was deactivated or removed from "
    "its units); log in again."
)


def _check_version(token: Token, user: Any) -> None:
    if token.get(VERSION_CLAIM) != user.token_version:
        raise AuthenticationFailed(str(ENDED), code="token_version")


class VersionedTokenObtainPairSerializer(TokenObtainPairSerializer):
    @classmethod
    def get_token(cls, user: Any) -> Any:
        token = super().get_token(user)
        token[VERSION_CLAIM] = user.token_version  # copied into the access tokens made from it
        return token


class VersionedTokenRefreshSerializer(TokenRefreshSerializer):
    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        refresh = RefreshToken(attrs["refresh"])
        user_model = get_user_model()
        try:
            user = user_model.objects.get(
                **{api_settings.USER_ID_FIELD: refresh.payload.get(api_settings.USER_ID_CLAIM)}
            )
        except (user_model.DoesNotExist, ValueError, TypeError):
            raise AuthenticationFailed(str(ENDED), code="token_version") from None
        if not user.is_active:
            raise AuthenticationFailed(str(ENDED), code="token_version")
        _check_version(refresh, user)
        return super().validate(attrs)


class VersionedJWTAuthentication(JWTAuthentication):
    def get_user(self, validated_token: Token) -> Any:
        user = super().get_user(validated_token)
        _check_version(validated_token, user)
        return user


class VersionedJWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme (bearer JWT) for the subclass, as drf-spectacular has for simplejwt's."""

    target_class = "orgs.tokens.VersionedJWTAuthentication"
