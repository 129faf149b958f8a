"""Evaluation: not on the production path. The labelled worlds bountyguard is measured on (its own
generator, and `fieldworld`, written independently of the detectors), the scores of a run against their
truth (`scores`), the textbook baseline printed beside them (`baseline`), and identity resolution on
the public FEBRL record-linkage sets (`febrl`). A screening run never imports this package."""
