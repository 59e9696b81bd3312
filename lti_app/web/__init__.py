"""Shared web layer: security headers, error pages, input guard, sessions pages, base templates
and static assets."""
