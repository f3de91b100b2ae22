"""`depgraph serve`: a read-only HTTP service over a store (and optionally a report): a JSON API
for the questions the query commands answer, and pages a person reads in a browser.

| module | its one job |
| --- | --- |
| `app` | the Starlette application: routes, parameter checks, errors as JSON or pages |
| `templates/` | the pages (Jinja2, every value escaped) |
"""
