"""Acknowledgements: templates rendered in the client's language, composed as a threaded reply."""
