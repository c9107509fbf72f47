"""The consoles: the aiohttp app assembled from the features, the WebSocket hub, pages."""
