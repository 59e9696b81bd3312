"""Tenancy: registered Canvas platforms, their deployments and API keys (the `platform` CLI)."""
