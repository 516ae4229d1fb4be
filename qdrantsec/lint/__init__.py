"""The Qdrant security linter: model, registry, engine, suppressions, one module a rule."""
