"""The model and tokenizer types that core itself registers (as the plugin ``seqkit``)."""

from __future__ import annotations

from seqkit.host.hookspecs import hookimpl
from seqkit.host.registry import ModelType, TokenizerType


@hookimpl
def register_models(register):
    register(ModelType("rnn-lm", "seqkit.models.rnn:RNNLM",
                       "recurrent LM (rnn/lstm/gru), optional class conditioning"))
    register(ModelType("transformer-lm", "seqkit.models.transformer:TransformerLM",
                       "decoder-only Transformer LM with KV cache, optional conditioning"))
    register(ModelType("gru-seq2seq", "seqkit.models.seq2seq:GRUSeq2Seq",
                       "bidirectional GRU encoder, GRU decoder with attention"))
    register(ModelType("transformer-seq2seq", "seqkit.models.seq2seq:TransformerSeq2Seq",
                       "encoder-decoder Transformer"))


@hookimpl
def register_tokenizers(register):
    register(TokenizerType("char", "seqkit.tokenizers:CharTokenizer", "one token per character"))
    register(TokenizerType("word", "seqkit.tokenizers:WordTokenizer", "whitespace-separated words"))
