"""seqkit plugin: the Compressive Transformer (Rae et al. 2019) for any token task."""
