"""The composition root: each stage of the data flow declared once (its metric families, its checks
of the plan, its factory), and `compose` that builds them for `opsplan serve`.

A stage is one module here with one `STAGE`; adding a stage is that module and one line in
`all.py`. Domain packages never import this package; serve and cli do (docs/architecture.md).
"""
