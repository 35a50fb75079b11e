"""All filesystem code: registry files, output folders (atomic), tables, manifests, reports.

Model layers never touch files; they hand DataFrames, Figures and strings to this package.
"""
