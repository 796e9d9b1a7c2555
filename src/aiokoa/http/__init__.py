"""HTTP helpers: statuses, headers, MIME types, content negotiation, URLs and query strings,
freshness (ETag/Last-Modified), proxy trust, JSON bodies and cookie headers.

Plain functions and small classes over strings, bytes and mappings. This layer knows
nothing of applications, contexts or middleware, and imports nothing of aiokoa outside
itself, so anything above it (the core, routers, middleware) may use it.
"""
