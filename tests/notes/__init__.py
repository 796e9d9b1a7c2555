"""The showcase app, examples/notes/: its API over a real socket, and the whole of it in a
real browser. Its modules are imported as it imports them, from its own folder."""

import sys
from pathlib import Path

NOTES = Path(__file__).parent.parent.parent / "examples" / "notes"
sys.path.insert(0, str(NOTES))
