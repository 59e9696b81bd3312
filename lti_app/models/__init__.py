"""Typed SQLAlchemy models. Import from here so Alembic sees every table."""

from lti_app.models.keys import ToolKey
from lti_app.models.launch import LaunchSession, OidcLogin
from lti_app.models.tenancy import Deployment, Platform

__all__ = ["Deployment", "LaunchSession", "OidcLogin", "Platform", "ToolKey"]
