"""CLI commands, one module per command or group. Import only click at module level."""
