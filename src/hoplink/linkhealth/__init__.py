"""Destination health (issue 12): periodic checks of the URLs links send visitors to."""
