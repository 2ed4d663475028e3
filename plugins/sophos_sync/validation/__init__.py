"""Validation: the month's landed records judged against the data contracts (include/schemas), one job a module.

stage.py       the stage: landed records -> contracts -> stage tables and sophos.rejected_records
judge.py       the jobs below run in order over a batch of records; the batch's ValidationResult
contracts.py   the contract modules of include/schemas, loaded by path, and what validation derives from them
decode.py      landing JSON -> one typed Arrow table of the contract's fields, with its fallbacks
raw_texts.py   the batch's raw JSON texts, compressed, for the few records read back
keys.py        natural keys and duplicates (identical copies folded, differing copies refused)
verdict.py     running the contract, failures as rejected rows, and the whole-entity verdict
"""
