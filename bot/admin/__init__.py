"""Admin commands behind the CLI: årshjul, contacts, outbox, FAQ evaluation, manifests."""
