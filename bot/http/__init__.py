"""The aiohttp server: app assembly, health checks, static pages and the calendar feed."""
