"""The local stand-in for the admin JWT issuer: a key kept under .local/ signs tokens whose
issuer and audience are exactly the ones the template's HttpApi authorizer is configured with,
and the local API checks them the way API Gateway's JWT authorizer does."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from local_stack.template import JwtAuthorizer


class LocalIssuer:
    def __init__(self, key_file: Path):
        if key_file.exists():
            self._key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        else:
            self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.write_bytes(
                self._key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
            key_file.chmod(0o600)

    def mint(
        self,
        authorizer: JwtAuthorizer,
        subject: str = "local-operator",
        hours: float = 24 * 30,
        operator_claim: tuple[str, str] | None = ("cognito:groups", "siyu-admin"),
    ) -> str:
        """A token as the stack's user pool would issue to `subject`; `operator_claim` is the
        template's AdminClaimName and AdminClaimValue (None: a valid user who is no operator)."""
        now = int(time.time())
        claims: dict = {
            "iss": authorizer.issuer,
            "aud": authorizer.audience[0],
            "sub": subject,
            "email": f"{subject}@localhost",
            "iat": now,
            "exp": now + int(hours * 3600),
            "token_use": "id",
        }
        if operator_claim is not None:
            name, value = operator_claim
            # Cognito puts groups in a list; an OIDC scope is one space-separated string.
            claims[name] = value if name in ("scope", "scp") else [value]
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": "local"})

    def verify(self, authorizer: JwtAuthorizer, authorization: str | None) -> dict | None:
        """The token's claims when it is valid for `authorizer`, else None (API Gateway answers 401)."""
        if not authorization:
            return None
        token = authorization[7:] if authorization.lower().startswith("bearer ") else authorization
        try:
            return jwt.decode(
                token.strip(),
                self._key.public_key(),
                algorithms=["RS256"],
                audience=authorizer.audience,
                issuer=authorizer.issuer,
                options={"require": ["exp", "iss"]},
            )
        except jwt.PyJWTError:
            return None
