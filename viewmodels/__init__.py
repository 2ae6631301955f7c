"""Qt viewmodels that expose the core to the QML views."""
