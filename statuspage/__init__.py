"""The application: settings, database wiring, HTTP routes, auth and the CLI."""
