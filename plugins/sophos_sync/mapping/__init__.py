"""Customer mapping (docs/architecture.md, Mapping rules): the rules, pure (`rules`), what they can decide
(`outcomes`), and their SQL side over a run (`customers`)."""
