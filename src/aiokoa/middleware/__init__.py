"""Middleware shipped with aiokoa, one module each (`aiokoa.middleware.<name>`).

Each module builds on the core's public surface only (`aiokoa.core`, `aiokoa.http`,
`aiokoa.types`), like any third-party middleware would; see docs/architecture.md.
"""
