"""seqkit-abc: character-level recurrent models of folk tunes in ABC notation."""
