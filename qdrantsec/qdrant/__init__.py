"""What Qdrant itself defines: its config model and layering, JWT claims, access rules,
and the HTTP client used to talk to a Qdrant peer."""
