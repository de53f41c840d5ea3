"""The operators' console: one frame (navigation, the logged-in user, language) every page uses."""
