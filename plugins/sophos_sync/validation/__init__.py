"""The jobs of validation, one module each; `sophos_sync.validate` runs them in order.

    contracts.py   the contract modules of include/schemas, loaded by path, and what validate reads in them
    decode.py      landing JSON -> one typed Arrow table of the contract's fields, with its fallbacks
    raw_texts.py   the batch's raw JSON texts, compressed, for the few records read back
    keys.py        natural keys and duplicates (identical copies folded, differing copies refused)
    verdict.py     running the contract, failures as rejected rows, and the whole-entity verdict
"""
