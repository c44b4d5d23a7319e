#!/usr/bin/env python3
"""Replace the error-code table in docs/api.md with `jobber config error-codes`."""
import pathlib, re, subprocess, sys

root = pathlib.Path(__file__).resolve().parent.parent
table = subprocess.run([sys.argv[1] if len(sys.argv) > 1 else str(root / "target/debug/jobber"), "config", "error-codes"],
                       check=True, capture_output=True, text=True).stdout
doc = root / "docs/api.md"
text = doc.read_text()
pattern = re.compile(r"\| code \| status \| meaning \|\n\|---\|---\|---\|\n(?:\|.*\|\n)*")
if not pattern.search(text):
    sys.exit("docs/api.md has no error-code table")
doc.write_text(pattern.sub(lambda _: table, text, count=1))
