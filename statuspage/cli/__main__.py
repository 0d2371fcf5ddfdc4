"""`python -m statuspage.cli`: the same command as `statuspage`."""

from statuspage.cli.main import main

raise SystemExit(main())
