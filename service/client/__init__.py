"""The intermediaries' client: seals on this machine, derives the token here, resumes uploads."""
