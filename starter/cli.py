"""`accessctl`: the command line over the client. Exit 0 on success, 1 when refused, 2 on usage."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from rich.console import Console

from entitlements.loading import InvalidCatalogError, load_catalog, summary

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
catalog_app = typer.Typer(no_args_is_help=True, help="Check and apply the catalog file.")
app.add_typer(catalog_app, name="catalog")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DEFAULT_CATALOG = "examples/catalog.yaml"


def catalog_path(file: Path | None) -> Path:
    return file or Path(os.environ.get("ACCESSCTL_CATALOG", DEFAULT_CATALOG))


@catalog_app.command("validate")
def catalog_validate(
    file: Path | None = typer.Argument(None, help="Catalog YAML (default: $ACCESSCTL_CATALOG)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Check a catalog file; print every problem with its place in the file."""
    path = catalog_path(file)
    try:
        catalog_file = load_catalog(path)
    except InvalidCatalogError as error:
        if as_json:
            problems = [
                {"path": p.path, "line": p.line, "message": p.message} for p in error.problems
            ]
            out.print_json(json.dumps({"file": str(path), "valid": False, "problems": problems}))
        else:
            err.print(f"[red]{path}: {len(error.problems)} problem(s)[/red]", highlight=False)
            for problem in error.problems:
                err.print(f"  {problem}", highlight=False, markup=False)
        raise typer.Exit(1) from None
    if as_json:
        out.print_json(
            json.dumps({"file": str(path), "valid": True, "summary": summary(catalog_file)})
        )
    else:
        out.print(f"{path}: valid: {summary(catalog_file)}", highlight=False)


if __name__ == "__main__":
    app()
