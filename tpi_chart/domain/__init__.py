"""Pure domain layer: pydantic models, the catalog and the rules. No Qt, no SQL."""
