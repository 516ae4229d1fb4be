"""`python -m qdrantsec`."""

from qdrantsec.cli.app import main

raise SystemExit(main())
