"""`python -m bot`: the same as the `chokepoint` script."""

from bot.cli import main

raise SystemExit(main())
