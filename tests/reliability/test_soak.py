"""The soak: the benchmark's `stack` app on one uvicorn worker, loaded by wrk, its RSS sampled
while it serves; after the warm-up requests the RSS stays flat.

Short in the test command (30,000 requests, a sample a second); `AIOKOA_SOAK=full` sends
1,000,000 with a sample every 10 s, as benchmarks/RESULTS.md reports them. The server runs
the implementation the test runs (`[c]` or `[python]`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .longrun import FULL, length, report, soak


@pytest.mark.measures
def test_rss_stays_flat_under_load() -> None:
    requests = length(30_000, 1_000_000)
    result = soak.soak(
        requests,
        warmup=length(3_000, 10_000),
        interval=10.0 if FULL else 1.0,
        max_s=1800.0 if FULL else 60.0,
    )
    print("\n" + result.summary())
    assert result.requests >= requests
    assert len(result.samples) >= 3
    assert result.growth_kib < soak.flat_bound_kib(requests)


def test_a_benchmark_run_keeps_the_soak_figures(tmp_path: Path) -> None:
    """benchmarks/run.py rewrites RESULTS.md from its own run; the soak's section stays."""
    results = tmp_path / "RESULTS.md"
    results.write_text("# old figures\n\n## Soak\n\n| soak | table |\n")
    for _ in range(2):
        report.write(
            results, mode="quick", inproc=[], net=[], memory=None, verdicts=[], images=[], notes=[], settings={}
        )
    text = results.read_text()
    assert "# old figures" not in text
    assert text.count("## Soak") == 1
    assert text.endswith("## Soak\n\n| soak | table |\n")
