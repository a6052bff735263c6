"""What GX stored: the validation results kept under a store, to compare two ways of
validating."""

from __future__ import annotations

import json
from pathlib import Path


def stored_results(store: Path) -> list[dict]:
    """The validation results GX kept under `store`, without what differs from run to run
    (ids, times); the data's fingerprint is kept."""
    found = []
    for path in sorted((store / "gx" / "uncommitted" / "validations").rglob("*.json")):
        result = json.loads(path.read_text())
        meta = result["meta"]
        for key in ("validation_id", "validation_time", "run_id"):
            meta.pop(key)
        meta["batch_markers"].pop("ge_load_time")
        for item in result["results"]:
            item["expectation_config"].pop("id")
        found.append(result)
    assert found
    return found
