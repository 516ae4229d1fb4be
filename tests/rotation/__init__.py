"""rotate-key: inventory, drivers, runner, plan, journal, executor."""
