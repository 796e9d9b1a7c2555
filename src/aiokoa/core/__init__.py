"""The core: application, context, request, response, compose and errors."""
