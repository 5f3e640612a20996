"""Plain-text tables and section headings of the demo."""


def format_vector(values, digits=3):
    """Format a 1-D array as ``[a, b, ...]`` with fixed decimals.

    Parameters
    ----------
    values : array-like of shape (n,)
    digits : int, default=3
        Decimals shown.

    Returns
    -------
    str
    """
    return "[" + ", ".join(f"{v:{digits + 4}.{digits}f}" for v in values) + "]"


def format_matrix(matrix, digits=3):
    """Format a 2-D array as one bracketed line per row.

    Parameters
    ----------
    matrix : array-like of shape (n, m)
    digits : int, default=3
        Decimals shown.

    Returns
    -------
    str
        Rows separated by newlines, aligned like numpy's own printing.
    """
    rows = [format_vector(row, digits) for row in matrix]
    lines = [(" " if i else "[") + row for i, row in enumerate(rows)]
    lines[-1] += "]"
    return "\n".join(lines)


def render_table(header, rows):
    """Lay out a table whose cells may span several lines.

    Parameters
    ----------
    header : list of str
        Column titles.
    rows : list of list of str
        Cells; a cell containing newlines occupies several lines.

    Returns
    -------
    str
        The table, with a rule under the header.
    """
    split = [[str(cell).split("\n") for cell in row] for row in [header] + rows]
    widths = [max(len(line) for row in split for line in row[col])
              for col in range(len(header))]
    out = []
    for index, row in enumerate(split):
        for i in range(max(len(cell) for cell in row)):
            parts = [(cell[i] if i < len(cell) else "").ljust(width)
                     for cell, width in zip(row, widths)]
            out.append("  ".join(parts).rstrip())
        if index == 0:
            out.append("  ".join("-" * width for width in widths))
    return "\n".join(out)


def format_seconds(seconds):
    """Format a duration for the tables, e.g. ``'0.012 s'``.

    Parameters
    ----------
    seconds : float

    Returns
    -------
    str
    """
    return f"{seconds:.3f} s"


def section(title):
    """Print a section title underlined with ``=``.

    Parameters
    ----------
    title : str
    """
    print()
    print(title)
    print("=" * len(title))
