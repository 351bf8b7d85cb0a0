"""What the model wrote -> what the editor shows.

Small instruct models do not stop where the hole ends: after the missing
code they go on to write the rest of the file, a `main()`, or a Markdown
explanation. These rules keep the part that belongs at the cursor.
"""

from __future__ import annotations

from lsp_server.inference.engine import Generation


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def written_past_the_hole(text: str, prefix: str, suffix: str) -> bool:
    """True once the model has begun a line that `trim` would cut: the rest is waste."""
    lines = text.split("\n")
    return (
        len(lines) > 1
        and bool(lines[-1].strip())
        and (len(trim(Generation(text, "end"), prefix, suffix)) < len(text.rstrip()))
    )


def trim(generation: Generation, prefix: str, suffix: str) -> str:
    """The suggestion to show for `generation` at the cursor between `prefix` and `suffix`."""
    lines = generation.text.split("\n")
    if generation.stop_reason in ("length", "time") and len(lines) > 1:
        # The last line was cut off mid-way by a limit: not worth showing.
        lines = lines[:-1]
    current_line = prefix[prefix.rfind("\n") + 1 :]
    # The first line continues the cursor's line; its indentation is the block's.
    block_indent = _indent(current_line + lines[0]) if (current_line + lines[0]).strip() else 0
    next_line = next((line for line in suffix.split("\n")[1:] if line.strip()), None)
    kept = [lines[0]]
    for line in lines[1:]:
        if line.lstrip().startswith("```"):
            break  # the model has started explaining itself in Markdown
        if line.strip() and _indent(line) < block_indent:
            break  # the block at the cursor has ended
        if next_line is not None and line.strip() == next_line.strip():
            break  # it is repeating the code after the cursor
        kept.append(line)
    text = "\n".join(kept).rstrip()
    # A suggestion that only repeats what follows the cursor on its line adds nothing.
    rest_of_line = suffix.split("\n", 1)[0]
    if rest_of_line.strip() and text.strip() == rest_of_line.strip():
        return ""
    return text
