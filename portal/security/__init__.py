"""Security: identity-number checks, personal-data protection, access checks, audit."""
