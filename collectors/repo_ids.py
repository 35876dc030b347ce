"""What a Hub repo id is, for every reader of ids (panels, archives, config)."""

# org/name, each part a letter or digit and then up to 95 letters, digits, '.', '_' or '-'
# (huggingface_hub.utils._validators.validate_repo_id: alphanumerics, '-', '_', '.', at most 96).
REPO_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$"
