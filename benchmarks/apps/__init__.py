"""One module per framework; each exposes ``build(spec)`` returning an app for ``scenarios.AppSpec``."""
