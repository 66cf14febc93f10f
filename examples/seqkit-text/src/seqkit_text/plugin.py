"""The hooks of seqkit-text. Nothing heavy is imported here: `seqkit --help` stays fast."""

from seqkit import DatasetType, LazyCommand, Task, TokenizerType, hookimpl


@hookimpl
def register_tasks(register):
    register(Task("text", "character-level language models of any UTF-8 text"))


@hookimpl
def register_datasets(register):
    register(DatasetType("text-file", "seqkit_text.data:read_text",
                         "a UTF-8 text file, read whole", task="text"))


@hookimpl
def register_tokenizers(register):
    register(TokenizerType("bytes", "seqkit_text.tokenizer:ByteTokenizer",
                           "UTF-8 bytes: 256 symbols + <pad> <bos> <eos>, nothing is unknown"))


@hookimpl
def register_lazy_commands(register):
    # built only when used: `seqkit --help` shows the line without importing commands.py
    register(LazyCommand("text", "seqkit_text.commands:app",
                         "Character-level models of any text (example)"))


@hookimpl
def register_generators(register):
    from .generator import TEXT

    register(TEXT)
