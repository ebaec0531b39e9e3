"""Registered recipes: one module per recipe, each with `get_config(size)`.

Installed as `keras_bigbatch.recipes`; `keras-bigbatch list` shows them and
`keras-bigbatch train NAME` runs one (see keras_bigbatch.training.recipes).
"""
