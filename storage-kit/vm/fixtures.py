#!/usr/bin/env python3
"""Copies the outputs a VM case printed between `@@FIXTURE NAME` and `@@END`
into tests/fixtures/NAME (run by hand after a VM run; see docs/storage.md)."""
import pathlib, sys

out = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures"
for console in sys.argv[1:]:
    name, lines = None, []
    for line in pathlib.Path(console).read_text(errors="replace").splitlines():
        if line.startswith("@@FIXTURE "):
            name, lines = line.split()[1], []
        elif line == "@@END" and name:
            (out / name).write_text("\n".join(lines) + "\n")
            print("wrote", out / name)
            name = None
        elif name:
            lines.append(line)
