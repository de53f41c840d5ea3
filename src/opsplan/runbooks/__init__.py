"""Runbooks: the seed's recovery procedures (§4.2) as journaled, resumable steps."""
