"""The sandbox's REST side: ``/api/v1`` blueprints, the OAuth2 token endpoint, ``/_sandbox``."""
