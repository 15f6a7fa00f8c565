"""TestState: one state run on its own, with its inspection data, as AWS's TestState."""
