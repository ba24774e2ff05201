"""`python -m ballast_tui`: the `ballast` command."""

from ballast_tui.launch import main

raise SystemExit(main())
