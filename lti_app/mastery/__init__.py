"""Pure mastery domain (standard library only; no Flask, SQLAlchemy or HTTP).

- `scales`: district proficiency scales, WCAG-checked colours, presets in config/scales/,
  versioning decisions.
- `mapping`: declared rules from Canvas scores to district levels, reversible for write-back.
- `calculation`: Canvas-compatible calculation methods and power law, mode, recent mean;
  policies, minimum evidence and teacher overrides.
- `growth`: growth to readiness per student and target.

Database storage, the admin pages and the export are wired outside this package.
"""
