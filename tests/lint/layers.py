#!/usr/bin/env python3
"""lint: layers. Every #include "core/...", <CLI/...> and "cmd/..." under core/ must follow an edge
of the layer table in ARCHITECTURE.md (the table with a "may include" column), which this script
reads from the document itself so the two cannot drift. Prints one line per violation as
FILE:LINE: FROM -> TO ..., and exits 1 if there is any.

Usage: layers.py [SOURCE_DIR]   (default: the repository this script is in)
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]')
FOLDER_CELL = re.compile(r"^`core/([A-Za-z0-9_]+)/`$")
NAME = re.compile(r"[A-Za-z0-9_]+")
# What an include names besides core folders: the CLI library and the command layer.
SPECIAL = {"CLI11", "cmd"}


def read_table(path):
    """{folder: set of folders (and CLI11/cmd) it may include} from the layer table."""
    allowed = {}
    columns = None
    with open(path, encoding="utf-8") as doc:
        for number, line in enumerate(doc, 1):
            line = line.strip()
            if not line.startswith("|"):
                if columns is not None and allowed:
                    break  # the table ended
                columns = None
                continue
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            if columns is None:
                if "may include" in cells and "folder" in cells:
                    columns = (cells.index("folder"), cells.index("may include"))
                continue
            if set(cells[0]) <= set("-: "):
                continue  # the header's rule
            folder = FOLDER_CELL.match(cells[columns[0]])
            if not folder:
                sys.exit(f"{path}:{number}: a layer table row whose folder is not `core/NAME/`: {line}")
            targets = cells[columns[1]]
            names = set() if targets in ("—", "-", "") else set(NAME.findall(targets))
            allowed[folder.group(1)] = names
    if not allowed:
        sys.exit(f"{path}: no layer table (a table with 'folder' and 'may include' columns)")
    for folder, names in allowed.items():
        unknown = names - set(allowed) - SPECIAL
        if unknown:
            sys.exit(f"{path}: core/{folder}/ may include {', '.join(sorted(unknown))}, which the table does not have")
    return allowed


def target_of(kind, name):
    """The folder (or CLI11/cmd) an include names, or None for anything else."""
    parts = name.split("/")
    if kind == '"' and parts[0] == "core" and len(parts) > 2:
        return parts[1]
    if kind == '"' and parts[0] == "cmd":
        return "cmd"
    if parts[0] == "CLI":
        return "CLI11"
    return None


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    allowed = read_table(os.path.join(root, "ARCHITECTURE.md"))
    core = os.path.join(root, "core")
    problems = []
    checked = 0
    for folder in sorted(os.listdir(core)):
        if not os.path.isdir(os.path.join(core, folder)):
            continue
        if folder not in allowed:
            problems.append(f"core/{folder}/: a folder with no row in ARCHITECTURE.md's layer table")
            continue
        for dirpath, _, files in os.walk(os.path.join(core, folder)):
            for file in sorted(files):
                path = os.path.join(dirpath, file)
                shown = os.path.relpath(path, root)
                with open(path, encoding="utf-8", errors="replace") as source:
                    for number, line in enumerate(source, 1):
                        match = INCLUDE.match(line)
                        if not match:
                            continue
                        target = target_of(match.group(1), match.group(2))
                        if target is None:
                            continue
                        checked += 1
                        if target != folder and target not in allowed[folder]:
                            problems.append(f"{shown}:{number}: {folder} -> {target} is not an edge of "
                                            f"ARCHITECTURE.md's layer table ({line.strip()})")
    for problem in problems:
        print(problem)
    if problems:
        print(f"lint: layers: {len(problems)} include(s) outside the layer table")
        return 1
    print(f"lint: layers: {checked} includes under core/ follow the layer table ({len(allowed)} folders)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
