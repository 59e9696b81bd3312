"""LTI 1.3: OIDC login, hardened launch validation (pylti1p3), sessions, keys, Dynamic Registration,
developer key JSON, roles; the LTI endpoints."""
