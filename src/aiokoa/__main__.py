"""`python -m aiokoa`: the same as the `aiokoa` command."""

from .cli import main

raise SystemExit(main())
