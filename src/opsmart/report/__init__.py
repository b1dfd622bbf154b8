"""``opsmart report``: one self-contained HTML file of charts and tables over the marts.

The page holds everything it needs (Vega, Vega-Lite and vega-embed, inlined by
vl-convert, and the data), so it opens from disk with no network. It reads only
the mart schema, and connects as ``opsmart mf`` does: a login of opsmart_analyst
(``OPSMART_ANALYST_URL``; on the embedded server its own reader login; else
``OPSMART_DATABASE_URL``), see ``semantic.analyst_url`` (data.py says what comes
from where).
"""

from __future__ import annotations

import functools
from pathlib import Path

from opsmart import connection, files

DEFAULT_DAYS = 30
MAX_DAYS = 3_660  # ten years, as a backfill
DEFAULT_FILE = "report.html"


def default_path() -> Path:
    return connection.ensure_home() / DEFAULT_FILE


@functools.cache
def javascript() -> str:
    """Vega, Vega-Lite and vega-embed as one script defining ``vegaEmbed`` (vl-convert bundles them)."""
    import altair as alt
    import vl_convert

    # the Vega-Lite version altair writes its specs for
    version = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    bundle = vl_convert.javascript_bundle(vl_version=version)
    # an HTML parser ends a <script> at the first "</script", wherever it is
    return bundle.replace("</script", "<\\/script")


def write(url: str, out: Path, days: int = DEFAULT_DAYS) -> Path:
    """Read the marts of ``url`` and write the report to ``out`` (whole or not at all)."""
    from opsmart.report import data, page  # altair: only when a report is made

    snap = data.load(url, days)
    text = page.render(snap, javascript())
    with files.written_whole(out) as partial:
        partial.write_text(text, encoding="utf-8")
    return out


def run(out: str | None = None, days: int = DEFAULT_DAYS) -> int:
    """``opsmart report``: the output checked first, then the database, then the page."""
    from opsmart import semantic

    path = files.check_output(out, "report", make_folders=False) if out else default_path()
    write(semantic.analyst_url(), path, days)
    print(f"report: {path.resolve()}")
    return 0
