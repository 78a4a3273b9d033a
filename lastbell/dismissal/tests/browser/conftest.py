from lastbell.dismissal.tests.browser.support import asgi_server, in_memory_layer, world  # noqa: F401
