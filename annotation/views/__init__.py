"""Server-rendered pages. Thin: check the role, call a service, render."""
