"""Free-text questions: the classifier (engine) and the FAQ dialog."""
