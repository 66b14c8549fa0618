"""Text search over images: a term index built from file names, descriptions, labels (widened with WordNet) and colours."""
