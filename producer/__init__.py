"""Generate user profiles for the userstream topic, valid ones and deliberately broken ones."""
