"""The site's build hook: benchmarks/RESULTS.md, included in the performance page, shows its
plots as `plots/<name>.png`; the images are served from benchmarks/plots/, where the
benchmark run writes them, at that same place in the site."""

from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for plot in sorted((BENCHMARKS / "plots").glob("*.png")):
        files.append(
            File(
                f"plots/{plot.name}",
                src_dir=str(BENCHMARKS),
                dest_dir=config.site_dir,
                use_directory_urls=config.use_directory_urls,
            )
        )
    return files
