"""Studies: measurements that are not training runs of one recipe.

Each is a module with `main(argv)`; run one from the repository root with
`python -m studies.NAME [--size smoke]`. They import the package normally.
"""
