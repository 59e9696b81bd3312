"""The closing lines every benchmark prints: where its JSON went, and its profile if asked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def write_result(output: Path, result: dict[str, Any], profile: str | None) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    shown = output.relative_to(ROOT) if output.is_relative_to(ROOT) else output
    print(f"\nResults written to {shown} ({result['elapsed_seconds']}s)")
    if profile:
        print()
        print(profile)
